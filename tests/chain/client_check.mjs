#!/usr/bin/env node
// client_check: a real Ethereum client library (ethers v6 JsonRpcProvider, which batches its calls)
// asks anvil and cantord's /rpc the same questions and requires identical answers: chainId,
// blockNumber, getBalance, getTransactionCount, getCode, getStorage, at historical blocks named by
// number, by tag (latest, earliest), by block hash (plain string) and by EIP-1898 objects
// ({blockHash, requireCanonical}, {blockNumber}). Keys are the accounts and slots anvil reports as
// touched (trace_replayBlockTransactions stateDiff) in sampled blocks; each is read at the block that
// touched it and at later blocks (cantord knows a key from its first change on; earlier reads are
// "value unknown" by design, see docs/api.md). Prints one JSON summary line; exit 1 on any difference.
import { JsonRpcProvider, Network, zeroPadValue, toBeHex } from 'ethers';

const HELP = 'usage: node client_check.mjs --anvil URL --cantord URL --from A --to B [--blocks N] [--keys K]';

function parseArgs(argv) {
    const o = { anvil: null, cantord: null, from: null, to: null, blocks: 24, keys: 6 };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i], v = argv[++i];
        const int = () => {
            if (!/^\d+$/.test(v ?? '')) throw new Error(`${a} wants a non-negative integer\n${HELP}`);
            return Number(v);
        };
        switch (a) {
        case '--anvil': o.anvil = v; break;
        case '--cantord': o.cantord = v; break;
        case '--from': o.from = int(); break;
        case '--to': o.to = int(); break;
        case '--blocks': o.blocks = Math.min(int(), 1000); break;
        case '--keys': o.keys = Math.min(int(), 100); break;
        default: throw new Error(`unknown argument ${a}\n${HELP}`);
        }
    }
    if (!o.anvil || !o.cantord || o.from === null || o.to === null || o.to < o.from) throw new Error(HELP);
    return o;
}

const qty = (n) => '0x' + n.toString(16);
const slot32 = (s) => zeroPadValue(toBeHex(BigInt(s)), 32);

async function main() {
    const o = parseArgs(process.argv.slice(2));
    const net = Network.from(31337);
    // staticNetwork: no eth_chainId probe per call; both sides get exactly the same request stream.
    const anvil = new JsonRpcProvider(o.anvil, net, { staticNetwork: net });
    const cantord = new JsonRpcProvider(o.cantord, net, { staticNetwork: net });
    const r = { checked: 0, mismatches: 0, byForm: {}, first: [] };

    async function same(label, form, fn) {
        let a, c;
        try {
            a = await fn(anvil);
        } catch (e) {
            a = `error: ${e.shortMessage ?? e.message}`;
        }
        try {
            c = await fn(cantord);
        } catch (e) {
            c = `error: ${e.shortMessage ?? e.message}`;
        }
        const as = String(a), cs = String(c);
        r.checked++;
        r.byForm[form] = (r.byForm[form] ?? 0) + 1;
        if (as !== cs || as.startsWith('error:')) {
            r.mismatches++;
            if (r.first.length < 20) r.first.push({ label, form, anvil: as.slice(0, 200), cantord: cs.slice(0, 200) });
        }
    }

    await same('chainId', 'none', async (p) => (await p.send('eth_chainId', [])));
    await same('getNetwork', 'none', async (p) => (await p._detectNetwork()).chainId);
    const head = await anvil.getBlockNumber();
    await same('blockNumber', 'none', (p) => p.getBlockNumber());
    const to = Math.min(o.to, head);
    const span = to - o.from + 1;
    const step = Math.max(1, Math.floor(span / o.blocks));
    const hashes = new Map();
    const hashOf = async (n) => {
        if (!hashes.has(n)) hashes.set(n, (await anvil.getBlock(n)).hash);
        return hashes.get(n);
    };

    for (let b = o.from; b <= to; b += step) {
        const traces = await anvil.send('trace_replayBlockTransactions', [qty(b), ['stateDiff']]);
        const keys = [];
        const seen = new Set();
        for (const tx of traces)
            for (const [addr, d] of Object.entries(tx.stateDiff ?? {})) {
                if (!seen.has(addr)) {
                    seen.add(addr);
                    keys.push({ addr, slot: null });
                }
                for (const s of Object.keys(d.storage ?? {}))
                    if (!seen.has(addr + s)) {
                        seen.add(addr + s);
                        keys.push({ addr, slot: slot32(s) });
                    }
            }
        // a deterministic spread of accounts and slots of this block
        const pick = keys.filter((_, i) => i % Math.max(1, Math.floor(keys.length / o.keys)) === 0).slice(0, o.keys);
        const later = Math.min(to, b + 1 + ((b * 7) % Math.max(1, to - b)));
        const forms = [
            ['number', b],
            ['number-later', later],
            ['hex-tag', qty(b)],
            ['latest', 'latest'],
            ['blockHash-string', await hashOf(b)],
            ['eip1898-blockHash', { blockHash: await hashOf(later), requireCanonical: true }],
            ['eip1898-blockHash-noncanonical-flag', { blockHash: await hashOf(b) }],
            ['eip1898-blockNumber', { blockNumber: qty(later) }],
        ];
        const sendTag = (t) => (typeof t === 'number' ? qty(t) : t);
        for (const k of pick)
            for (const [form, tag] of forms) {
                const lbl = `${k.addr}${k.slot ? '/' + k.slot : ''}@${JSON.stringify(tag)}`;
                if (k.slot) {
                    if (typeof tag === 'object') {
                        await same(lbl, form, (p) => p.send('eth_getStorageAt', [k.addr, k.slot, tag]));
                    } else {
                        await same(lbl, form, (p) => p.getStorage(k.addr, k.slot, tag));
                    }
                    continue;
                }
                if (typeof tag === 'object') {
                    for (const m of ['eth_getBalance', 'eth_getTransactionCount', 'eth_getCode'])
                        await same(`${m} ${lbl}`, form, (p) => p.send(m, [k.addr, sendTag(tag)]));
                } else {
                    await same(`balance ${lbl}`, form, (p) => p.getBalance(k.addr, tag));
                    await same(`nonce ${lbl}`, form, (p) => p.getTransactionCount(k.addr, tag));
                    await same(`code ${lbl}`, form, (p) => p.getCode(k.addr, tag));
                }
            }
    }
    anvil.destroy();
    cantord.destroy();
    console.log(JSON.stringify({ ...r, blocks: [o.from, to], step }));
    process.exit(r.mismatches === 0 && r.checked > 0 ? 0 : 1);
}

main().catch((e) => {
    console.log(JSON.stringify({ error: e.message }));
    process.exit(1);
});
