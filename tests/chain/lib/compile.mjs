// Compiles tests/chain/contracts/*.sol with solc-js at run time and loads the Uniswap V2 / WETH9
// bytecode shipped in the npm packages. Compiled output is cached in tests/chain/out/ (git-ignored),
// keyed by a hash of the sources, the compiler version and the settings.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { keccak256 } from 'ethers';

const here = dirname(dirname(fileURLToPath(import.meta.url)));
const require = createRequire(import.meta.url);

// The init code hash hard-coded in UniswapV2Library (v2-periphery) that pairFor() relies on.
export const UNISWAP_PAIR_INIT_CODE_HASH = '0x96e8ac4277198ff8b6f785478aa9a39f403cb768dd02cbee326c3e7da348845f';

const SETTINGS = {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: 'cancun',
    outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
};

export function compileOwn() {
    const solc = require('solc');
    const dir = join(here, 'contracts');
    const files = readdirSync(dir).filter((f) => f.endsWith('.sol')).sort();
    const sources = {};
    for (const f of files) sources[f] = { content: readFileSync(join(dir, f), 'utf8') };
    const key = createHash('sha256')
        .update(JSON.stringify({ v: solc.version(), sources, SETTINGS }))
        .digest('hex')
        .slice(0, 16);
    const outDir = join(here, 'out');
    const cache = join(outDir, `contracts-${key}.json`);
    if (existsSync(cache)) return JSON.parse(readFileSync(cache, 'utf8'));

    const input = { language: 'Solidity', sources, settings: SETTINGS };
    const output = JSON.parse(solc.compile(JSON.stringify(input)));
    const errors = (output.errors ?? []).filter((e) => e.severity === 'error');
    if (errors.length) throw new Error(`solc: ${errors.map((e) => e.formattedMessage).join('\n')}`);
    const result = {};
    for (const f of files) {
        for (const [name, c] of Object.entries(output.contracts[f] ?? {}))
            result[name] = { abi: c.abi, bytecode: '0x' + c.evm.bytecode.object };
    }
    mkdirSync(outDir, { recursive: true });
    writeFileSync(cache + '.tmp', JSON.stringify(result));
    renameSync(cache + '.tmp', cache);
    return result;
}

function fromBuild(pkg, name) {
    const j = require(`${pkg}/build/${name}.json`);
    const hex = j.bytecode ?? j.evm?.bytecode?.object;
    if (!hex) throw new Error(`${pkg}/build/${name}.json has no bytecode`);
    return { abi: j.abi, bytecode: hex.startsWith('0x') ? hex : '0x' + hex };
}

export function loadUniswap() {
    const u = {
        WETH9: fromBuild('@uniswap/v2-periphery', 'WETH9'),
        UniswapV2Factory: fromBuild('@uniswap/v2-core', 'UniswapV2Factory'),
        UniswapV2Pair: fromBuild('@uniswap/v2-core', 'UniswapV2Pair'),
        UniswapV2Router02: fromBuild('@uniswap/v2-periphery', 'UniswapV2Router02'),
    };
    // The router computes pair addresses from this hash; a mismatch makes every swap revert.
    const h = keccak256(u.UniswapV2Pair.bytecode);
    if (h !== UNISWAP_PAIR_INIT_CODE_HASH)
        throw new Error(`UniswapV2Pair init code hash ${h} != router's ${UNISWAP_PAIR_INIT_CODE_HASH}`);
    if (!u.UniswapV2Router02.bytecode.includes(UNISWAP_PAIR_INIT_CODE_HASH.slice(2)))
        throw new Error('UniswapV2Router02 bytecode does not embed the expected pair init code hash');
    return u;
}
