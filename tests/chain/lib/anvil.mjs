// Starts and stops the anvil binary from the @foundry-rs/anvil npm package (platform sub-package,
// e.g. @foundry-rs/anvil-linux-amd64), bound to 127.0.0.1. Anvil's on-disk state cache lives in a
// mkdtemp directory that stop() removes. On Linux anvil is wrapped in `setpriv --pdeathsig TERM`
// so it dies with us even if we are SIGKILLed.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);

export const MNEMONIC = 'test test test test test test test test test test test junk';
export const CHAIN_ID = 31337;
export const GENESIS_TIMESTAMP = 1700000000;

export function anvilBinary() {
    if (process.env.ANVIL_BIN) return process.env.ANVIL_BIN;
    const arch = { x64: 'amd64', arm64: 'arm64' }[process.arch];
    const plat = { linux: 'linux', darwin: 'darwin', win32: 'win32' }[process.platform];
    const exe = process.platform === 'win32' ? 'anvil.exe' : 'anvil';
    if (arch && plat) {
        try {
            const pj = require.resolve(`@foundry-rs/anvil-${plat}-${arch}/package.json`);
            const bin = join(dirname(pj), 'bin', exe);
            if (existsSync(bin)) return bin;
        } catch {
            /* fall through to the wrapper's own location */
        }
    }
    throw new Error(`no anvil binary for ${process.platform}/${process.arch}; run npm ci in tests/chain or set ANVIL_BIN`);
}

function haveSetpriv() {
    if (process.platform !== 'linux') return false;
    const r = spawnSync('setpriv', ['--help'], { stdio: 'ignore' });
    return r.status === 0;
}

export class Anvil {
    constructor({ port, accounts = 60, stateFile = null }) {
        this.port = port;
        this.url = `http://127.0.0.1:${port}`;
        this.accounts = accounts;
        this.stateFile = stateFile;
        this.dir = null;
        this.proc = null;
        this.stderrTail = '';
        this.exited = null;
    }

    start() {
        this.dir = mkdtempSync(join(tmpdir(), 'cantord-anvil-'));
        const args = [
            '--host', '127.0.0.1',
            '--port', String(this.port),
            '--chain-id', String(CHAIN_ID),
            '--accounts', String(this.accounts),
            '--balance', '10000',
            '--mnemonic', MNEMONIC,
            '--hardfork', 'prague',
            '--timestamp', String(GENESIS_TIMESTAMP),
            '--gas-limit', '100000000',
            // Blocks are mined only by evm_mine; transactions in mining order = arrival order.
            '--no-mining',
            '--order', 'fifo',
            // Keep every historical state: anvil keeps a bounded number in memory and moves older
            // ones to disk up to --max-persisted-states, dropping beyond that.
            '--max-persisted-states', '1000000',
            '--cache-path', this.dir,
        ];
        if (this.stateFile) args.push('--state', this.stateFile, '--preserve-historical-states');
        const bin = anvilBinary();
        const [cmd, argv] = haveSetpriv() ? ['setpriv', ['--pdeathsig', 'TERM', bin, ...args]] : [bin, args];
        this.proc = spawn(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
        this.proc.stderr.on('data', (d) => {
            this.stderrTail = (this.stderrTail + d.toString()).slice(-4000);
        });
        this.exitPromise = new Promise((resolve) => {
            this.proc.on('exit', (code, sig) => {
                this.exited = { code, sig };
                resolve(this.exited);
            });
        });
    }

    // Polls eth_chainId until anvil answers; bounded by timeoutMs.
    async waitReady(rpc, timeoutMs = 30000) {
        const deadline = Date.now() + timeoutMs;
        while (Date.now() < deadline) {
            if (this.exited)
                throw new Error(`anvil exited (${JSON.stringify(this.exited)}): ${this.stderrTail.trim()}`);
            try {
                const id = await rpc.call('eth_chainId');
                if (Number(id) !== CHAIN_ID) throw new Error(`unexpected chain id ${id}`);
                return;
            } catch (e) {
                if (e.message?.startsWith('unexpected chain id')) throw e;
            }
            await new Promise((r) => setTimeout(r, 100));
        }
        throw new Error(`anvil did not answer on ${this.url} within ${timeoutMs} ms`);
    }

    // SIGTERM (anvil dumps --state on it), then SIGKILL after graceMs; removes the cache dir.
    async stop(graceMs = 10000) {
        if (this.proc && !this.exited) {
            this.proc.kill('SIGTERM');
            const t = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
            await this.exitPromise;
            clearTimeout(t);
        }
        if (this.dir) rmSync(this.dir, { recursive: true, force: true });
        this.dir = null;
    }

    // For synchronous exit paths: best effort.
    killNow() {
        if (this.proc && !this.exited) this.proc.kill('SIGKILL');
        if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    }
}
