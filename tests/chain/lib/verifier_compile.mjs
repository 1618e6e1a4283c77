// Compiles contracts/verifier/CantorVerifier.sol with solc-js, resolving @openzeppelin/contracts
// imports from node_modules. Output is cached in out/ (git-ignored), keyed by the sources, compiler
// version and settings. Separate from compile.mjs, which has no import resolver.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(dirname(fileURLToPath(import.meta.url)));
const require = createRequire(import.meta.url);

const SETTINGS = {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: 'cancun',
    outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
};

function findImport(path) {
    if (!path.startsWith('@openzeppelin/contracts/')) return { error: `import outside OpenZeppelin: ${path}` };
    try {
        return { contents: readFileSync(require.resolve(path), 'utf8') };
    } catch (e) {
        return { error: `${path}: ${e.message}` };
    }
}

export function compileVerifier() {
    const solc = require('solc');
    const file = 'CantorVerifier.sol';
    const content = readFileSync(join(here, 'contracts', 'verifier', file), 'utf8');
    const oz = require('@openzeppelin/contracts/package.json').version;
    const key = createHash('sha256')
        .update(JSON.stringify({ v: solc.version(), oz, content, SETTINGS }))
        .digest('hex')
        .slice(0, 16);
    const cache = join(here, 'out', `verifier-${key}.json`);
    if (existsSync(cache)) return JSON.parse(readFileSync(cache, 'utf8'));

    const input = { language: 'Solidity', sources: { [file]: { content } }, settings: SETTINGS };
    const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImport }));
    const errors = (output.errors ?? []).filter((e) => e.severity === 'error');
    if (errors.length) throw new Error(`solc: ${errors.map((e) => e.formattedMessage).join('\n')}`);
    const c = output.contracts[file].CantorVerifier;
    const result = { abi: c.abi, bytecode: '0x' + c.evm.bytecode.object, solc: solc.version(), oz };
    mkdirSync(join(here, 'out'), { recursive: true });
    writeFileSync(cache + '.tmp', JSON.stringify(result));
    renameSync(cache + '.tmp', cache);
    return result;
}
