#!/usr/bin/env node
// compare: checks cantord's Ethereum JSON-RPC reads against anvil, block by block. For every block in
// [from, to] it takes the touched accounts and slots from anvil's debug_traceBlockByNumber
// (prestateTracer, diffMode) and compares eth_getBalance / eth_getTransactionCount / eth_getCode /
// eth_getStorageAt at that block on both endpoints; then re-checks a deterministic sample of keys at
// later blocks (values that did not change since). Prints one JSON summary line; exit 1 on any
// mismatch or RPC error. Works anvil-vs-anvil too (point --cantord at the anvil URL).
import { toBeHex, zeroPadValue, keccak256, toUtf8Bytes } from 'ethers';

const qty = (n) => '0x' + n.toString(16); // JSON-RPC quantity: no leading zeros
import { Rpc } from './lib/rpc.mjs';

const HELP = `usage: node compare.mjs --anvil URL --cantord URL --from A --to B [--source prestate|trace]
                         [--sample N] [--max-report N] [--verbose]
  --source   where touched keys come from: debug_traceBlockByNumber prestateTracer diffMode (default)
             or trace_replayBlockTransactions stateDiff (same keys on anvil, about 7x faster)`;

function parseArgs(argv) {
    const o = { anvil: null, cantord: null, from: null, to: null, sample: 500, maxReport: 20, verbose: false, source: 'prestate' };
    const int = (name, v) => {
        if (!/^\d+$/.test(v ?? '')) throw new Error(`${name} wants a non-negative integer, got ${v}`);
        return Number(v);
    };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const v = () => argv[++i];
        switch (a) {
        case '--anvil': o.anvil = v(); break;
        case '--cantord': o.cantord = v(); break;
        case '--from': o.from = int(a, v()); break;
        case '--to': o.to = int(a, v()); break;
        case '--sample': o.sample = int(a, v()); break;
        case '--max-report': o.maxReport = int(a, v()); break;
        case '--verbose': o.verbose = true; break;
        case '--source': o.source = v(); break;
        case '-h': case '--help': process.stdout.write(HELP + '\n'); process.exit(0); break;
        default: throw new Error(`unknown argument ${a}\n${HELP}`);
        }
    }
    if (!o.anvil || !o.cantord || o.from === null || o.to === null) throw new Error(HELP);
    if (o.to < o.from) throw new Error('--to must be >= --from');
    if (!['prestate', 'trace'].includes(o.source)) throw new Error('--source is prestate or trace');
    if (o.to - o.from > 1000000) throw new Error('range too large (max 1,000,000 blocks)');
    return o;
}

const slotKey = (s) => zeroPadValue(toBeHex(BigInt(s)), 32);

// Same answer? Quantities and storage words compare as numbers, code as lowercase bytes.
function same(method, a, b) {
    if (typeof a !== 'string' || typeof b !== 'string') return false;
    if (method === 'eth_getCode') return a.toLowerCase() === b.toLowerCase();
    try {
        return BigInt(a) === BigInt(b);
    } catch {
        return false;
    }
}

// Parity stateDiff of one tx -> the prestate diffMode shape ({result: {pre, post}}) this script
// walks. "+0x0" on a created account is not a change (diffMode leaves it out too).
function stateDiffToPrestate(tx) {
    const pre = {};
    const post = {};
    for (const [addr, d] of Object.entries(tx.stateDiff ?? {})) {
        const p0 = {};
        const p1 = {};
        for (const f of ['balance', 'nonce', 'code']) {
            const v = d[f];
            if (!v || v === '=') continue;
            if ('*' in v) {
                p0[f] = v['*'].from;
                p1[f] = v['*'].to;
            } else if ('+' in v) {
                if (v['+'] !== '0x' && BigInt(v['+']) !== 0n) p1[f] = v['+'];
            } else if ('-' in v) {
                p0[f] = v['-'];
            }
        }
        const s0 = {};
        const s1 = {};
        for (const [slot, v] of Object.entries(d.storage ?? {})) {
            if ('*' in v) {
                s0[slot] = v['*'].from;
                if (BigInt(v['*'].to) !== 0n) s1[slot] = v['*'].to;
            } else if ('+' in v) {
                s1[slot] = v['+'];
            } else if ('-' in v) {
                s0[slot] = v['-'];
            }
        }
        if (Object.keys(s0).length) p0.storage = s0;
        if (Object.keys(s1).length) p1.storage = s1;
        if (Object.keys(p0).length) pre[addr] = p0;
        if (Object.keys(p1).length || Object.keys(p0).length) post[addr] = p1;
    }
    return { txHash: tx.transactionHash, result: { pre, post } };
}

function readCalls(addr, slots, tag) {
    const calls = [
        { method: 'eth_getBalance', params: [addr, tag] },
        { method: 'eth_getTransactionCount', params: [addr, tag] },
        { method: 'eth_getCode', params: [addr, tag] },
    ];
    for (const s of slots) calls.push({ method: 'eth_getStorageAt', params: [addr, s, tag] });
    return calls;
}

async function main() {
    const o = parseArgs(process.argv.slice(2));
    const anvil = new Rpc(o.anvil);
    const cantord = new Rpc(o.cantord);
    const stats = { checked: 0, mismatches: 0, rpcErrors: 0, blocks: 0, txs: 0, accounts: 0, slots: 0, diffEntries: 0, laterChecked: 0 };
    const report = [];
    const lastChange = new Map(); // "addr" or "addr:slot" -> block of last change
    const t0 = Date.now();

    const head = Number(await anvil.call('eth_blockNumber'));
    if (o.to > head) throw new Error(`anvil head is ${head}, below --to ${o.to}`);

    const compare = async (calls, where) => {
        const [a, c] = await Promise.all([anvil.batchSettled(calls), cantord.batchSettled(calls)]);
        for (let i = 0; i < calls.length; i++) {
            stats.checked++;
            const call = calls[i];
            if (a[i].error || c[i].error) {
                stats.rpcErrors++;
                if (report.length < o.maxReport)
                    report.push({ where, call, anvilError: a[i].error?.message, cantordError: c[i].error?.message });
                continue;
            }
            if (!same(call.method, a[i].result, c[i].result)) {
                stats.mismatches++;
                if (report.length < o.maxReport) report.push({ where, call, anvil: a[i].result, cantord: c[i].result });
            }
        }
    };

    for (let n = o.from; n <= o.to; n++) {
        const tag = qty(n);
        let traces;
        try {
            traces = o.source === 'trace'
                ? (await anvil.call('trace_replayBlockTransactions', [tag, ['stateDiff']])).map(stateDiffToPrestate)
                : await anvil.call('debug_traceBlockByNumber', [tag, { tracer: 'prestateTracer', tracerConfig: { diffMode: true } }]);
        } catch (e) {
            stats.rpcErrors++;
            report.push({ where: `trace ${n}`, error: e.message });
            continue;
        }
        stats.blocks++;
        stats.txs += traces.length;
        const touched = new Map(); // addr -> Set(slot)
        for (const t of traces) {
            const r = t.result ?? {};
            for (const side of [r.pre ?? {}, r.post ?? {}]) {
                for (const [addr, acc] of Object.entries(side)) {
                    const a = addr.toLowerCase();
                    if (!touched.has(a)) touched.set(a, new Set());
                    for (const s of Object.keys(acc.storage ?? {})) touched.get(a).add(slotKey(s));
                }
            }
            // Diff entries: one per changed field or slot in this tx. In diffMode `post` holds only
            // changed fields, `pre` holds the whole old account; a slot only in `pre` went to zero and
            // an account only in `pre` was deleted.
            const pre = r.pre ?? {};
            const post = r.post ?? {};
            for (const addr of new Set([...Object.keys(pre), ...Object.keys(post)])) {
                const p0 = pre[addr] ?? {};
                const p1 = post[addr];
                if (!p1) {
                    stats.diffEntries += ['balance', 'nonce', 'code'].filter((f) => f in p0).length;
                    stats.diffEntries += Object.keys(p0.storage ?? {}).length;
                    continue;
                }
                stats.diffEntries += ['balance', 'nonce', 'code'].filter((f) => f in p1).length;
                stats.diffEntries += new Set([...Object.keys(p0.storage ?? {}), ...Object.keys(p1.storage ?? {})]).size;
            }
        }
        const calls = [];
        for (const [addr, slots] of touched) {
            stats.accounts++;
            stats.slots += slots.size;
            lastChange.set(addr, n);
            for (const s of slots) lastChange.set(`${addr}:${s}`, n);
            calls.push(...readCalls(addr, [...slots], tag));
        }
        if (calls.length) await compare(calls, `block ${n}`);
        if (o.verbose) process.stderr.write(JSON.stringify({ block: n, accounts: touched.size, calls: calls.length }) + '\n');
    }

    // Later blocks: a deterministic sample (by key hash) checked at --to and half way between the
    // change and --to, where the value must still be what it became at the change.
    const keys = [...lastChange.entries()]
        .filter(([, b]) => b < o.to)
        .map(([k, b]) => ({ k, b, h: keccak256(toUtf8Bytes(k)) }))
        .sort((x, y) => (x.h < y.h ? -1 : 1))
        .slice(0, o.sample);
    const later = [];
    for (const { k, b } of keys) {
        const [addr, slot] = k.split(':');
        for (const at of new Set([o.to, Math.floor((b + o.to) / 2) + 1])) {
            const tag = qty(Math.min(at, o.to));
            if (slot) later.push({ method: 'eth_getStorageAt', params: [addr, slot, tag] });
            else later.push(...readCalls(addr, [], tag));
        }
    }
    const before = stats.checked;
    if (later.length) await compare(later, 'later');
    stats.laterChecked = stats.checked - before;

    const out = { ...stats, seconds: (Date.now() - t0) / 1000, from: o.from, to: o.to, cantordBatch: cantord.batchOk };
    if (report.length) out.first = report;
    process.stdout.write(JSON.stringify(out) + '\n');
    process.exit(stats.mismatches || stats.rpcErrors ? 1 : 0);
}

main().catch((e) => {
    process.stdout.write(JSON.stringify({ checked: 0, mismatches: 0, error: e.message }) + '\n');
    process.exit(1);
});
