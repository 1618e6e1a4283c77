#!/usr/bin/env node
// devchain: a real local Ethereum test chain for cantord. Starts anvil on 127.0.0.1, deploys an
// ERC-20 and a key-value contract (compiled here with solc-js), WETH9 and Uniswap V2 (bytecode from
// the npm packages), then drives deterministic traffic from a seed and mines blocks explicitly.
// Prints JSON lines on stdout: ready, block, reorg, done (and error). Kills anvil on exit, on
// SIGTERM/SIGINT and when its parent dies. Usage: see README.md or --help.
import { readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { HDNodeWallet, Wallet } from 'ethers';
import { Anvil, CHAIN_ID, GENESIS_TIMESTAMP, MNEMONIC } from './lib/anvil.mjs';
import { compileOwn, loadUniswap } from './lib/compile.mjs';
import { Prng } from './lib/prng.mjs';
import { Rpc } from './lib/rpc.mjs';
import { Planner, TRADERS } from './lib/traffic.mjs';

const HELP = `usage: node devchain.mjs --port P [--blocks N] [--seed S] [--txs-per-block K] [--reorgs R]
                          [--state-file F] [--forever] [--hold] [--interval SEC] [--max-seconds T]
                          [--resync-every B]
  --blocks N         traffic blocks after the ~8 setup blocks (default 300)
  --txs-per-block K  mean actions per block; each block draws K/2..3K/2 (default 15)
  --reorgs R         R reorgs of depth 2-4 spread over the run (default 0)
  --forever          after N blocks keep mining one block every --interval s (default 2) until
                     --max-seconds (default 3600) since start; with R>0 also reorgs every 40 blocks
  --hold             after "done" keep anvil serving until SIGTERM/SIGINT or --max-seconds
  --state-file F     anvil --state F: load at start, dump on exit; F.meta.json keeps the model`;

function parseArgs(argv) {
    const o = { port: null, blocks: 300, seed: '1', txsPerBlock: 15, reorgs: 0, stateFile: null, forever: false, hold: false, interval: 2, maxSeconds: 3600, resyncEvery: 10 };
    const num = (name, v, lo, hi) => {
        if (!/^\d+(\.\d+)?$/.test(v ?? '')) throw new Error(`${name} wants a number, got ${v}`);
        const n = Number(v);
        if (n < lo || n > hi) throw new Error(`${name} must be in [${lo}, ${hi}]`);
        return n;
    };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const v = () => argv[++i];
        switch (a) {
        case '--port': o.port = num(a, v(), 1, 65535); break;
        case '--blocks': o.blocks = Math.floor(num(a, v(), 0, 1000000)); break;
        case '--seed': o.seed = v() ?? ''; break;
        case '--txs-per-block': o.txsPerBlock = Math.floor(num(a, v(), 1, 60)); break;
        case '--reorgs': o.reorgs = Math.floor(num(a, v(), 0, 1000)); break;
        case '--state-file': o.stateFile = v(); break;
        case '--forever': o.forever = true; break;
        case '--hold': o.hold = true; break;
        case '--interval': o.interval = num(a, v(), 0.1, 3600); break;
        case '--max-seconds': o.maxSeconds = num(a, v(), 1, 30 * 86400); break;
        case '--resync-every': o.resyncEvery = Math.floor(num(a, v(), 1, 100000)); break;
        case '-h': case '--help': process.stdout.write(HELP + '\n'); process.exit(0); break;
        default: throw new Error(`unknown argument ${a}\n${HELP}`);
        }
    }
    if (!o.port) throw new Error(`--port is required\n${HELP}`);
    return o;
}

const emit = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const GWEI = 10n ** 9n;
const qty = (n) => `0x${n.toString(16)}`; // JSON-RPC quantity: no leading zeros

// BigInt/Set aware JSON for the state-file sidecar.
const enc = (v) => JSON.stringify(v, (k, x) => (typeof x === 'bigint' ? { $b: x.toString() } : x instanceof Set ? { $s: [...x] } : x));
const dec = (s) => JSON.parse(s, (k, x) => (x && typeof x === 'object' && '$b' in x ? BigInt(x.$b) : x && typeof x === 'object' && '$s' in x ? new Set(x.$s) : x));

class Chain {
    constructor(opts, rpc, planner, prng, wallets) {
        Object.assign(this, { opts, rpc, planner, prng, wallets });
        this.head = 0;
        this.txs = 0;
        this.orphanedTxs = 0;
        this.unexpected = 0;
        this.expectedFails = 0;
        this.reorgCount = 0;
        this.stopping = false;
    }

    timestamp(n) {
        return GENESIS_TIMESTAMP + 12 * n + (this.reorgCount % 11);
    }

    async sign(t) {
        const p = this.prng;
        const base = { chainId: CHAIN_ID, nonce: t.nonce, to: t.to, data: t.data, value: t.value, gasLimit: t.gas };
        // Mostly EIP-1559, some legacy; priority fees vary so the coinbase balance moves.
        const req = p.chance(10)
            ? { ...base, type: 0, gasPrice: p.big(2n * GWEI, 4n * GWEI) }
            : { ...base, type: 2, maxFeePerGas: 20n * GWEI, maxPriorityFeePerGas: p.big(0n, 2n * GWEI) };
        return this.wallets[t.from].signTransaction(req);
    }

    // Sends one batch, mines one block with it, checks inclusion and receipts.
    async mine(txs, extra = {}) {
        const raws = [];
        for (const t of txs) raws.push(await this.sign(t));
        const sent = await this.rpc.batchSettled(raws.map((r) => ({ method: 'eth_sendRawTransaction', params: [r] })));
        const bad = sent.findIndex((s) => s.error);
        if (bad >= 0) throw new Error(`eth_sendRawTransaction (${txs[bad].kind} from ${txs[bad].from} nonce ${txs[bad].nonce}): ${sent[bad].error.message}`);
        const want = this.head + 1;
        await this.rpc.call('evm_mine', [{ timestamp: this.timestamp(want), blocks: 1 }]);
        const blk = await this.rpc.call('eth_getBlockByNumber', [qty(want), false]);
        if (!blk || Number(blk.number) !== want) throw new Error(`expected block ${want} after evm_mine`);
        if (blk.transactions.length !== txs.length)
            throw new Error(`block ${want} has ${blk.transactions.length} txs, sent ${txs.length} (block gas limit?)`);
        this.head = want;
        const receipts = await this.rpc.call('eth_getBlockReceipts', [qty(want)]);
        let reverted = 0;
        receipts.forEach((r, i) => {
            const ok = r.status === '0x1';
            if (!ok) reverted++;
            if (txs[i].expectFail) this.expectedFails++;
            if (ok === txs[i].expectFail) {
                this.unexpected++;
                this.dirty = true;
                process.stderr.write(JSON.stringify({ event: 'unexpected', block: want, kind: txs[i].kind, from: txs[i].from, status: r.status, tx: r.transactionHash }) + '\n');
            }
        });
        emit({ event: 'block', number: want, txs: txs.length, reverted, gasUsed: Number(blk.gasUsed), hash: blk.hash, ...extra });
        return txs.length;
    }

    async resync() {
        const res = await this.rpc.batch(this.planner.resyncCalls());
        const bad = this.planner.applyResync(res);
        if (bad.length) throw new Error(`nonce model out of sync: ${JSON.stringify(bad.slice(0, 3))}`);
        this.dirty = false;
    }

    actionsFor(k) {
        return this.prng.range(Math.max(1, Math.ceil(k / 2)), Math.max(1, Math.floor((3 * k) / 2)));
    }

    async trafficBlock(k, extra) {
        const n = await this.mine(this.planner.planBlock(this.actionsFor(k)), extra);
        this.sinceResync = (this.sinceResync ?? 0) + 1;
        if (this.dirty || this.sinceResync >= this.opts.resyncEvery) {
            await this.resync();
            this.sinceResync = 0;
        }
        return n;
    }

    // Mines `depth` blocks, then evm_revert drops them and the caller's next blocks replace them.
    async reorg(depth, k) {
        const base = this.head;
        const snap = await this.rpc.call('evm_snapshot');
        const model = structuredClone(this.planner.m);
        const orphaned = [];
        for (let d = 0; d < depth && !this.stopping; d++) {
            this.orphanedTxs += await this.trafficBlock(k, { reorged: true });
            orphaned.push(this.head);
        }
        const hashes = (await this.rpc.batch(orphaned.map((n) => ({ method: 'eth_getBlockByNumber', params: [qty(n), false] })))).map((b) => b.hash);
        if (!(await this.rpc.call('evm_revert', [snap]))) throw new Error('evm_revert failed');
        this.planner.m = model;
        this.head = base;
        this.reorgCount++;
        // The replacement branch is one block longer, mined at once, so a follower sees a longer chain.
        for (let d = 0; d <= depth && !this.stopping; d++) this.txs += await this.trafficBlock(k, { replaces: d < depth ? hashes[d] : null });
        emit({ event: 'reorg', depth, at: base + 1, orphaned: hashes, head: this.head });
    }

    saveMeta() {
        if (!this.opts.stateFile) return;
        const f = this.opts.stateFile + '.meta.json';
        writeFileSync(f + '.tmp', enc({ model: this.planner.m, prng: this.prng.save(), txs: this.txs, reorgCount: this.reorgCount }));
        renameSync(f + '.tmp', f);
    }
}

async function main() {
    const opts = parseArgs(process.argv.slice(2));
    const t0 = Date.now();
    const anvil = new Anvil({ port: opts.port, accounts: 60, stateFile: opts.stateFile });
    let chain = null;
    let exiting = false;
    const shutdown = async (code, why) => {
        if (exiting) return;
        exiting = true;
        if (chain) chain.stopping = true;
        try {
            if (chain) chain.saveMeta();
        } catch {
            /* best effort */
        }
        await anvil.stop();
        if (why) emit({ event: 'exit', reason: why });
        process.exit(code);
    };
    process.on('SIGTERM', () => shutdown(0, 'SIGTERM'));
    process.on('SIGINT', () => shutdown(0, 'SIGINT'));
    process.on('exit', () => anvil.killNow());
    const ppid = process.ppid;
    setInterval(() => {
        if (process.ppid !== ppid) shutdown(0, 'parent died');
    }, 1000).unref();

    try {
        const artifacts = { ...compileOwn(), ...loadUniswap() };
        anvil.start();
        const rpc = new Rpc(anvil.url);
        await anvil.waitReady(rpc);
        emit({ event: 'ready', rpc: anvil.url, chainId: CHAIN_ID });

        const root = HDNodeWallet.fromPhrase(MNEMONIC, '', "m/44'/60'/0'/0");
        const wallets = Array.from({ length: 60 }, (_, i) => new Wallet(root.deriveChild(i).privateKey));
        const addresses = wallets.map((w) => w.address.toLowerCase());
        const prng = new Prng(opts.seed);
        const planner = new Planner({ prng, artifacts, addresses });
        chain = new Chain(opts, rpc, planner, prng, wallets);
        chain.head = Number(await rpc.call('eth_blockNumber'));

        const metaFile = opts.stateFile ? opts.stateFile + '.meta.json' : null;
        let setupBlocks = 0;
        if (chain.head > 0 && metaFile && existsSync(metaFile)) {
            const meta = dec(readFileSync(metaFile, 'utf8'));
            planner.m = meta.model;
            prng.restore(meta.prng);
            chain.txs = meta.txs;
            chain.reorgCount = meta.reorgCount;
            planner.m.allow = [];
            planner.m.nonce = planner.m.nonce.map(() => 0);
            await chain.resync().catch(() => {});
            chain.dirty = false;
            emit({ event: 'resumed', head: chain.head });
        } else {
            if (chain.head > 0) throw new Error(`chain already at block ${chain.head} and no ${metaFile}`);
            const nonces = await rpc.batch(addresses.map((a) => ({ method: 'eth_getTransactionCount', params: [a, 'latest'] })));
            planner.freshModel(nonces);
            for (const b of planner.setupBatches()) {
                chain.txs += await chain.mine(b, { setup: true });
                setupBlocks++;
            }
            await chain.resync();
            chain.saveMeta();
        }

        const reorgRng = new Prng(`${opts.seed}:reorgs`);
        const reorgAt = new Map();
        for (let j = 0; j < opts.reorgs && opts.blocks > 8; j++)
            reorgAt.set(Math.floor(((j + 1) * opts.blocks) / (opts.reorgs + 1)), 2 + reorgRng.int(3));
        for (let i = 0; i < opts.blocks && !chain.stopping; i++) {
            if (reorgAt.has(i)) {
                await chain.reorg(reorgAt.get(i), opts.txsPerBlock);
                i += reorgAt.get(i); // the replacement branch mined depth+1 traffic blocks
            } else {
                chain.txs += await chain.trafficBlock(opts.txsPerBlock);
            }
            chain.saveMeta();
        }
        const fast = { seconds: (Date.now() - t0) / 1000 };
        if (opts.forever) {
            let n = 0;
            while (!chain.stopping && Date.now() - t0 < opts.maxSeconds * 1000) {
                await sleep(opts.interval * 1000);
                if (chain.stopping) break;
                if (opts.reorgs > 0 && ++n % 40 === 0) await chain.reorg(2 + reorgRng.int(3), Math.max(1, opts.txsPerBlock / 3));
                else chain.txs += await chain.trafficBlock(Math.max(1, Math.floor(opts.txsPerBlock / 3)));
                chain.saveMeta();
            }
        }
        await chain.resync();
        emit({
            event: 'done', blocks: chain.head, setupBlocks, txs: chain.txs, orphanedTxs: chain.orphanedTxs,
            reorgs: chain.reorgCount, expectedReverts: chain.expectedFails, unexpectedReverts: chain.unexpected,
            tokens: planner.m.tokens.length, pairs: planner.m.pairs.length, stores: planner.m.stores.length,
            seconds: (Date.now() - t0) / 1000, trafficSeconds: fast.seconds, rpc: anvil.url,
        });
        if (opts.hold) {
            // Keep anvil up for readers until told to stop (bounded by --max-seconds).
            while (!exiting && Date.now() - t0 < opts.maxSeconds * 1000) await sleep(500);
        }
        await shutdown(chain.unexpected ? 1 : 0);
    } catch (e) {
        if (exiting) return; // a signal or parent death stopped anvil under us: not an error
        emit({ event: 'error', message: e.message });
        process.stderr.write((e.stack ?? String(e)) + '\n' + (anvil.stderrTail ? `anvil: ${anvil.stderrTail}\n` : ''));
        await shutdown(1);
    }
}

main();
