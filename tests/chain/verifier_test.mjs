// verifier_test.mjs - cantord proofs checked by a real EVM: deploys contracts/verifier/CantorVerifier.sol
// on anvil with the trusted checkpoint signer, then for every proof document v1 (docs/formats.md):
// eth_call verifyDelta/verifyState must return true, and tampered copies (value, path, block number,
// signature, ...) must revert with the custom error naming the check, as core/proof.c names it.
// One real transaction per proof kind measures gas from the receipt. Then an @openzeppelin/merkle-tree
// cross-check: StandardMerkleTree.of(entries).root equals cantord's delta root for anvil blocks.
//
// node verifier_test.mjs --rpc URL --signer 0xADDR --proofs-dir DIR          (documents in files)
//                        | --rpc URL --cantord URL --cantord-proofs N         (N followed blocks: delta and
//                          state proofs, JSON and ?format=abi, signer from GET /v1/checkpoint/keys)
//                        [--cantord URL --delta-root-cmd CMD --crosscheck N]  (OZ cross-check)
//                        [--gas-out FILE] [--min-absent N (1)]
// Prints JSON lines; the last is {"event":"done",...}; exit 1 on any failed expectation.
import { readFileSync, readdirSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AbiCoder, HDNodeWallet, Interface, Signature, getBytes, hexlify, keccak256, solidityPackedKeccak256, toBeHex } from 'ethers';
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { compileVerifier } from './lib/verifier_compile.mjs';
import { Rpc } from './lib/rpc.mjs';

const MNEMONIC = 'test test test test test test test test test test test junk';
const DEPLOYER_INDEX = 57; // devchain's traders are 0-49; lib.sh reorg_now uses 59
const KINDS = { balance: 0, nonce: 1, code: 2, storage: 3 };
const ZERO32 = '0x' + '00'.repeat(32);
const MAX_DOC_BYTES = 1 << 20;
const SECP_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const DELTA_TYPES = ['uint64', 'address', 'uint8', 'bytes32', 'bytes32', 'bytes32'];

function parseArgs(argv) {
    const o = { crosscheck: 5, minAbsent: 1 };
    for (let i = 2; i < argv.length; i++) {
        const k = argv[i];
        const v = argv[++i];
        if (v === undefined) throw new Error(`${k} needs a value`);
        if (k === '--rpc') o.rpc = v;
        else if (k === '--signer') o.signer = v.toLowerCase();
        else if (k === '--proofs-dir') o.proofsDir = v;
        else if (k === '--cantord') o.cantord = v;
        else if (k === '--delta-root-cmd') o.deltaRootCmd = v;
        else if (k === '--crosscheck') o.crosscheck = Number(v);
        else if (k === '--gas-out') o.gasOut = v;
        else if (k === '--min-absent') o.minAbsent = Number(v);
        else if (k === '--cantord-proofs') o.cantordProofs = Number(v);
        else throw new Error(`unknown option ${k}`);
    }
    if (!o.rpc) throw new Error('need --rpc');
    if (o.cantordProofs ? !o.cantord : !o.signer || !o.proofsDir)
        throw new Error('need --signer and --proofs-dir, or --cantord URL --cantord-proofs N');
    return o;
}

const out = (obj) => console.log(JSON.stringify(obj));
// 32-byte big-endian word from a 32-byte hex string or a minimal quantity ("0x1a": balance, nonce).
const word = (hex) => toBeHex(BigInt(hex), 32);

function checkpointOf(doc) {
    const c = doc.checkpoint;
    return { chainId: BigInt(c.chainId), number: BigInt(c.number), blockHash: c.blockHash, mmrRoot: c.mmrRoot };
}

function common(doc) {
    return {
        blockNumber: BigInt(doc.block.number),
        deltaRoot: doc.block.deltaRoot,
        stateRoot: doc.block.stateRoot,
        blockHash: doc.block.hash,
        leafIndex: BigInt(doc.mmrProof.leafIndex),
        leafCount: BigInt(doc.mmrProof.leafCount),
        mmrSiblings: [...doc.mmrProof.siblings],
        mmrPeaks: [...doc.mmrProof.peaks],
        checkpoint: checkpointOf(doc),
        signature: doc.checkpoint.secp256k1,
    };
}

// Proof document v1 (JSON) -> the DeltaProof / StateProof struct of docs/formats.md "ABI proof encoding".
export function toDeltaProof(doc) {
    const e = doc.entry;
    if (!(e.kind in KINDS)) throw new Error(`unknown kind ${e.kind}`);
    return {
        ...common(doc),
        addr: e.address,
        kind: KINDS[e.kind],
        slot: e.slot ?? ZERO32,
        oldValue: word(e.old),
        newValue: word(e.new),
        deltaProof: [...doc.deltaProof],
    };
}

export function toStateProof(doc) {
    const k = doc.key;
    const sp = doc.stateProof;
    if (!(k.kind in KINDS)) throw new Error(`unknown kind ${k.kind}`);
    const slot = k.slot ?? ZERO32;
    const key = solidityPackedKeccak256(['address', 'uint8', 'bytes32'], [k.address, KINDS[k.kind], slot]);
    const bm = getBytes(sp.bitmap);
    let bitmap = bm.length ? BigInt(hexlify(bm)) << BigInt(256 - 8 * bm.length) : 0n;
    const term = sp.leaf === null ? 0 : sp.leaf.key.toLowerCase() === key.toLowerCase() ? 1 : 2;
    return {
        ...common(doc),
        addr: k.address,
        kind: KINDS[k.kind],
        slot,
        present: doc.value !== null,
        value: doc.value === null ? ZERO32 : word(doc.value),
        term,
        leafKey: sp.leaf?.key ?? ZERO32,
        leafValue: sp.leaf?.value ?? ZERO32,
        depth: sp.depth,
        bitmap,
        smtSiblings: [...sp.siblings],
    };
}

function flip(hex, byte = 31) {
    const b = getBytes(hex);
    b[byte % b.length] ^= 0x01;
    return hexlify(b);
}

// The same signature with s' = n - s and v flipped: still a valid ECDSA signature, rejected by EIP-2.
function highS(sigHex) {
    const s = Signature.from(sigHex);
    const b = getBytes(sigHex);
    const hs = SECP_N - BigInt(s.s);
    b.set(getBytes(toBeHex(hs, 32)), 32);
    b[64] = s.v === 27 ? 28 : 27;
    return hexlify(b);
}

class Chain {
    constructor(url) {
        this.rpc = new Rpc(url, { timeoutMs: 60000 });
        this.wallet = HDNodeWallet.fromPhrase(MNEMONIC, '', "m/44'/60'/0'/0").deriveChild(DEPLOYER_INDEX);
    }

    // Sign, send, mine one block (anvil runs --no-mining), return the receipt.
    async send(tx) {
        const [nonce, chainId, latest] = await Promise.all([
            this.rpc.call('eth_getTransactionCount', [this.wallet.address, 'pending']),
            this.rpc.call('eth_chainId', []),
            this.rpc.call('eth_getBlockByNumber', ['latest', false]),
        ]);
        const raw = await this.wallet.signTransaction({
            ...tx,
            nonce: Number(nonce),
            chainId: BigInt(chainId),
            type: 2,
            maxFeePerGas: BigInt(latest.baseFeePerGas) * 2n + 10n ** 9n,
            maxPriorityFeePerGas: 10n ** 9n,
            gasLimit: tx.gasLimit ?? 10_000_000n,
        });
        const hash = await this.rpc.call('eth_sendRawTransaction', [raw]);
        await this.rpc.call('evm_mine', [{ timestamp: Number(latest.timestamp) + 12, blocks: 1 }]);
        const rcpt = await this.rpc.call('eth_getTransactionReceipt', [hash]);
        if (!rcpt) throw new Error(`tx ${hash} not mined`);
        if (rcpt.status !== '0x1') throw new Error(`tx ${hash} reverted`);
        return rcpt;
    }

    // eth_call: {ok: result} or {revert: error data}.
    async call(to, data) {
        try {
            return { ok: await this.rpc.call('eth_call', [{ to, data }, 'latest']) };
        } catch (e) {
            const d = e.data?.data ?? e.data;
            if (typeof d === 'string' && d.startsWith('0x')) return { revert: d };
            throw e;
        }
    }
}

async function getJson(url) {
    const res = await fetch(url, { signal: AbortSignal.timeout(60000) });
    const text = await res.text();
    if (text.length > MAX_DOC_BYTES) throw new Error(`${url}: answer larger than 1 MiB`);
    if (!res.ok) return { status: res.status, body: null };
    return { status: res.status, body: JSON.parse(text) };
}

// Proof URL for a key of a block's delta (docs/api.md): kind in the path for storage, else ?kind=.
function proofUrl(base, type, n, e, extra = '') {
    const q = type === 'delta' ? '' : `block=${n}&`;
    const path = type === 'delta' ? `/v1/proofs/delta/${n}/${e.address}` : `/v1/proofs/state/${e.address}`;
    if (e.kind === 'storage') return `${base}${path}/storage/${e.slot}?${q}${extra}`;
    return `${base}${path}?${q}kind=${e.kind}${extra ? '&' + extra : ''}`;
}

// Real proofs from a cantord following this chain: for n spread-out blocks with >= 8 entries, delta and
// state proofs of the first, first storage and last entry, both as JSON and as ?format=abi; plus keys of
// the newest picked block asked at block 1 (absent there when created later). Also checks that
// @openzeppelin/merkle-tree's root over each block's entries is the deltaRoot cantord proves against.
async function cantordDocs(opts, expect) {
    const base = opts.cantord;
    const keys = (await getJson(`${base}/v1/checkpoint/keys`)).body;
    if (!keys?.ethAddress) throw new Error('GET /v1/checkpoint/keys: no ethAddress');
    const head = (await getJson(`${base}/v1/status`)).body?.store?.head;
    if (!Number.isInteger(head)) throw new Error('GET /v1/status: no store.head');
    const bodies = new Map();
    for (let n = 1; n <= head; n++) {
        const r = await getJson(`${base}/v1/blocks/${n}/delta`);
        if (!expect(r.body, `GET /v1/blocks/${n}/delta: HTTP ${r.status}`)) break;
        if ((r.body.entries?.length ?? 0) >= 8) bodies.set(n, r.body);
    }
    const cands = [...bodies.keys()];
    const k = Math.min(opts.cantordProofs, cands.length);
    const picks = [...new Set(Array.from({ length: k }, (_, i) => cands[Math.floor((i * (cands.length - 1)) / Math.max(k - 1, 1))]))];
    const docs = [];
    const fetchDoc = async (type, n, e, name) => {
        const j = await getJson(proofUrl(base, type, n, e));
        const a = await getJson(proofUrl(base, type, n, e, 'format=abi'));
        if (!expect(j.body && a.body?.abi, `${name}: HTTP ${j.status} / ${a.status} (abi)`)) return null;
        expect(a.body.type === type, `${name}: abi answer type ${a.body.type}`);
        const d = { name, doc: j.body, abi: a.body.abi };
        docs.push(d);
        return d;
    };
    let crosschecked = 0;
    for (const n of picks) {
        const entries = bodies.get(n).entries;
        const storage = entries.findIndex((e) => e.kind === 'storage');
        const idx = [...new Set([0, storage, entries.length - 1].filter((i) => i >= 0))];
        let deltaRoot = null;
        for (const i of idx) {
            const d = await fetchDoc('delta', n, entries[i], `cantord-delta-${n}-${i}`);
            if (d) deltaRoot = d.doc.block.deltaRoot;
            await fetchDoc('state', n, entries[i], `cantord-state-${n}-${i}`);
        }
        const values = entries.map((e) => [n, e.address, KINDS[e.kind], e.slot ?? ZERO32, word(e.old), word(e.new)]);
        const oz = StandardMerkleTree.of(values, DELTA_TYPES).root;
        expect(oz === deltaRoot, `block ${n}: OZ root ${oz} != cantord's proven deltaRoot ${deltaRoot}`);
        out({ event: 'crosscheck', source: 'proof', block: n, entries: values.length, root: oz, match: oz === deltaRoot });
        crosschecked++;
    }
    let absent = 0;
    const late = picks.length ? bodies.get(picks[picks.length - 1]).entries : [];
    for (let i = 0; i < late.length && i < 60 && absent < 3; i++) {
        const j = await getJson(proofUrl(base, 'state', 1, late[i]));
        if (!j.body || j.body.value !== null) continue;
        const a = await getJson(proofUrl(base, 'state', 1, late[i], 'format=abi'));
        if (!expect(a.body?.abi, `absent state proof at block 1: HTTP ${a.status} (abi)`)) continue;
        docs.push({ name: `cantord-state-1-absent-${i}`, doc: j.body, abi: a.body.abi });
        absent++;
    }
    return { signer: keys.ethAddress.toLowerCase(), docs, crosschecked };
}

async function main() {
    const opts = parseArgs(process.argv);
    const chain = new Chain(opts.rpc);
    const { abi, bytecode, solc, oz } = compileVerifier();
    const iface = new Interface(abi);
    const failures = [];
    const expect = (cond, what) => {
        if (!cond) failures.push(what);
        return cond;
    };

    let docs;
    let crosschecked = 0;
    if (opts.cantordProofs) {
        const c = await cantordDocs(opts, expect);
        opts.signer = c.signer;
        docs = c.docs;
        crosschecked = c.crosschecked;
    } else {
        const files = readdirSync(opts.proofsDir).filter((f) => f.endsWith('.json')).sort();
        docs = files.map((f) => {
            const text = readFileSync(join(opts.proofsDir, f), 'utf8');
            if (text.length > MAX_DOC_BYTES) throw new Error(`${f}: larger than 1 MiB`);
            return { name: f, doc: JSON.parse(text) };
        });
    }

    const ctor = AbiCoder.defaultAbiCoder().encode(['address'], [opts.signer]);
    const dep = await chain.send({ data: bytecode + ctor.slice(2) });
    const verifier = dep.contractAddress;
    const onchainSigner = iface.decodeFunctionResult('signer', (await chain.call(verifier, iface.encodeFunctionData('signer', []))).ok)[0];
    expect(onchainSigner.toLowerCase() === opts.signer, 'deployed signer differs');
    out({ event: 'deployed', address: verifier, signer: opts.signer, solc, openzeppelin: oz, deployGas: Number(dep.gasUsed) });

    if (!expect(docs.some((d) => d.doc.type === 'delta') && docs.some((d) => d.doc.type === 'state'), 'need delta and state documents'))
        throw new Error(failures.join('; '));

    let calls = 0;
    const tally = { passed: 0, reverted: 0 };
    const errorName = (data) => {
        try {
            const e = iface.parseError(data);
            return e ? e.name : `unknown(${data.slice(0, 10)})`;
        } catch {
            return `undecodable(${data.slice(0, 10)})`;
        }
    };
    const run = async (fn, p) => {
        calls++;
        return chain.call(verifier, iface.encodeFunctionData(fn, [p]));
    };
    const mustPass = async (name, fn, p) => {
        const r = await run(fn, p);
        if (expect(r.ok !== undefined, `${name}: valid proof reverted with ${r.revert && errorName(r.revert)}`)) {
            expect(iface.decodeFunctionResult(fn, r.ok)[0] === true, `${name}: did not return true`);
            tally.passed++;
        }
    };
    const mustRevert = async (name, fn, p, want) => {
        const r = await run(fn, p);
        const got = r.revert ? errorName(r.revert) : 'passed';
        const ok = Array.isArray(want) ? want.includes(got) : got === want;
        if (expect(ok, `${name}: want ${want}, got ${got}`)) tally.reverted++;
    };

    // The right checkpoint signed by a key that is not the trusted signer.
    const foreignSig = (cp) =>
        chain.wallet.signMessageSync(getBytes(keccak256(AbiCoder.defaultAbiCoder().encode(
            ['uint256', 'uint256', 'bytes32', 'bytes32'], [cp.chainId, cp.number, cp.blockHash, cp.mmrRoot]))));
    const gas = {};
    const perDoc = {};
    const absentTerms = new Set();
    for (const { name, doc, abi: abiHex } of docs) {
        const isDelta = doc.type === 'delta';
        const fn = isDelta ? 'verifyDelta' : 'verifyState';
        const p = isDelta ? toDeltaProof(doc) : toStateProof(doc);
        await mustPass(name, fn, p);
        if (abiHex) {
            // cantord's ?format=abi bytes are exactly the struct this JSON document encodes to, and
            // selector || those bytes is a call the contract accepts.
            const mine = iface.encodeFunctionData(fn, [p]);
            const sel = iface.getFunction(fn).selector;
            expect(mine === sel + abiHex.slice(2).toLowerCase(), `${name}: ?format=abi differs from the JSON document's encoding`);
            const r = await chain.call(verifier, sel + abiHex.slice(2));
            calls++;
            expect(r.ok !== undefined && iface.decodeFunctionResult(fn, r.ok)[0] === true, `${name}: raw ?format=abi call did not return true`);
        }
        if (!isDelta && !p.present) absentTerms.add(p.term);

        // Every tamper class, with the check that must name it.
        const sig = p.signature;
        // A flipped r byte recovers to another address or to none, depending on the curve point.
        await mustRevert(`${name} signature byte`, fn, { ...p, signature: flip(sig, 5) }, ['CheckpointSigner', 'CheckpointSignature']);
        await mustRevert(`${name} foreign signer`, fn, { ...p, signature: foreignSig(p.checkpoint) }, 'CheckpointSigner');
        await mustRevert(`${name} high-s signature`, fn, { ...p, signature: highS(sig) }, 'CheckpointSignature');
        await mustRevert(`${name} bad v`, fn, { ...p, signature: sig.slice(0, -2) + '1d' }, 'CheckpointSignature');
        await mustRevert(`${name} short signature`, fn, { ...p, signature: sig.slice(0, -2) }, 'CheckpointSignature');
        await mustRevert(`${name} checkpoint mmrRoot`, fn,
            { ...p, checkpoint: { ...p.checkpoint, mmrRoot: flip(p.checkpoint.mmrRoot) } }, 'CheckpointSigner');
        await mustRevert(`${name} block number +1`, fn, { ...p, blockNumber: p.blockNumber + 1n }, 'BlockMismatch');
        await mustRevert(`${name} block number -1`, fn, { ...p, blockNumber: p.blockNumber - 1n }, 'BlockMismatch');
        await mustRevert(`${name} leaf index`, fn, { ...p, leafIndex: p.leafCount }, 'BlockMismatch');
        await mustRevert(`${name} block hash`, fn, { ...p, blockHash: flip(p.blockHash) },
            p.checkpoint.number === p.blockNumber ? 'BlockMismatch' : 'MmrPath');
        await mustRevert(`${name} stateRoot in record`, fn, { ...p, stateRoot: flip(p.stateRoot) }, 'MmrPath');
        await mustRevert(`${name} mmr peak`, fn, { ...p, mmrPeaks: p.mmrPeaks.map((h, i) => (i === 0 ? flip(h) : h)) }, 'MmrPath');
        if (p.mmrSiblings.length)
            await mustRevert(`${name} mmr sibling`, fn, { ...p, mmrSiblings: [flip(p.mmrSiblings[0]), ...p.mmrSiblings.slice(1)] }, 'MmrPath');
        if (isDelta) {
            await mustRevert(`${name} new value`, fn, { ...p, newValue: flip(p.newValue) }, 'DeltaPath');
            await mustRevert(`${name} old value`, fn, { ...p, oldValue: flip(p.oldValue) }, 'DeltaPath');
            await mustRevert(`${name} kind`, fn, { ...p, kind: (p.kind + 1) % 4 }, 'DeltaPath');
            await mustRevert(`${name} delta path`, fn, { ...p, deltaProof: [flip(p.deltaProof[0]), ...p.deltaProof.slice(1)] }, 'DeltaPath');
            await mustRevert(`${name} delta path short`, fn, { ...p, deltaProof: p.deltaProof.slice(1) }, 'DeltaPath');
        } else {
            if (p.present) {
                await mustRevert(`${name} value`, fn, { ...p, value: flip(p.value), leafValue: flip(p.leafValue) }, 'StatePath');
                await mustRevert(`${name} claimed value only`, fn, { ...p, value: flip(p.value) }, 'Leaf');
                await mustRevert(`${name} claims absent`, fn, { ...p, present: false, value: ZERO32 }, 'Leaf');
            } else {
                await mustRevert(`${name} claims present`, fn, { ...p, present: true, value: p.leafValue }, 'Leaf');
            }
            await mustRevert(`${name} slot`, fn, { ...p, slot: flip(p.slot) }, 'StatePath');
            if (p.smtSiblings.length)
                await mustRevert(`${name} state path`, fn, { ...p, smtSiblings: [flip(p.smtSiblings[0]), ...p.smtSiblings.slice(1)] }, 'StatePath');
            await mustRevert(`${name} state depth`, fn, { ...p, depth: p.depth + 1 }, 'StatePath');
            await mustRevert(`${name} bitmap`, fn, { ...p, bitmap: p.bitmap ^ (1n << 255n) }, 'StatePath');
        }

        // Gas of every document (eth_estimateGas), and one real transaction per shape: the receipt.
        const shape = isDelta ? 'verifyDelta' : p.present ? 'verifyState(present)' : 'verifyState(absent)';
        if (failures.length === 0) {
            const data = iface.encodeFunctionData(fn, [p]);
            const est = Number(await chain.rpc.call('eth_estimateGas', [{ from: chain.wallet.address, to: verifier, data }]));
            const path = isDelta ? p.deltaProof.length : p.smtSiblings.length;
            (perDoc[shape] ??= []).push({ gas: est, path, mmrSiblings: p.mmrSiblings.length });
        }
        if (!gas[shape] && failures.length === 0) {
            const data = iface.encodeFunctionData(fn, [p]);
            const est = BigInt(await chain.rpc.call('eth_estimateGas', [{ from: chain.wallet.address, to: verifier, data }]));
            const rcpt = await chain.send({ to: verifier, data });
            const bytes = getBytes(data);
            const zeros = bytes.filter((b) => b === 0).length;
            const calldataGas = 4 * zeros + 16 * (bytes.length - zeros);
            // Prague prices a tx at max(21000 + calldata + execution, EIP-7623 floor): when the floor
            // sets the price, execution is only bounded from above.
            const floorGas = 21000 + 10 * (calldataGas / 4);
            gas[shape] = {
                proof: name,
                txGas: Number(rcpt.gasUsed),
                estimateGas: Number(est),
                calldataBytes: bytes.length,
                calldataGas,
                floorGas,
                floorBound: Number(rcpt.gasUsed) === floorGas,
                executionGas: Number(rcpt.gasUsed) === floorGas ? null : Number(rcpt.gasUsed) - 21000 - calldataGas,
                executionGasAtMost: Number(rcpt.gasUsed) - 21000 - calldataGas,
                mmrSiblings: p.mmrSiblings.length,
                pathLength: isDelta ? p.deltaProof.length : p.smtSiblings.length,
            };
            out({ event: 'gas', shape, ...gas[shape] });
        }
    }
    const absentDocs = perDoc['verifyState(absent)']?.length ?? 0;
    expect(absentDocs >= opts.minAbsent, `${absentDocs} absence proofs, want at least ${opts.minAbsent}`);

    // The digest the contract recovers from is exactly docs/formats.md's: a foreign signature over our
    // digest must recover to the foreign address, which CheckpointSigner(recovered) reports.
    {
        const { name, doc } = docs[0];
        const p = doc.type === 'delta' ? toDeltaProof(doc) : toStateProof(doc);
        const r = await run(doc.type === 'delta' ? 'verifyDelta' : 'verifyState', { ...p, signature: foreignSig(p.checkpoint) });
        const rec = r.revert ? iface.parseError(r.revert)?.args?.[0] : undefined;
        expect(rec === chain.wallet.address, `${name}: foreign signature recovered to ${rec}, want ${chain.wallet.address}`);
    }

    // @openzeppelin/merkle-tree vs cantord's delta root, on anvil blocks cantord followed.
    if (opts.cantord && opts.deltaRootCmd) {
        const head = Number(await chain.rpc.call('eth_blockNumber', []));
        const tmp = mkdtempSync(join(tmpdir(), 'cantor-oz-'));
        try {
            // Blocks with real trees (>= 8 entries), spread evenly over the chain (setup and traffic).
            const bodies = new Map();
            for (let n = 1; n <= head; n++) {
                const res = await fetch(`${opts.cantord}/v1/blocks/${n}/delta`, { signal: AbortSignal.timeout(30000) });
                if (!expect(res.ok, `GET /v1/blocks/${n}/delta: HTTP ${res.status}`)) break;
                const body = await res.json();
                if ((body.entries?.length ?? 0) >= 8) bodies.set(n, body);
            }
            const cands = [...bodies.keys()];
            const k = Math.min(opts.crosscheck, cands.length);
            const picks = [...new Set(Array.from({ length: k }, (_, i) => cands[Math.floor((i * (cands.length - 1)) / Math.max(k - 1, 1))]))];
            for (const n of picks) {
                const body = bodies.get(n);
                const values = body.entries.map((e) => [n, e.address, KINDS[e.kind], e.slot ?? ZERO32, word(e.old), word(e.new)]);
                const oz = StandardMerkleTree.of(values, DELTA_TYPES).root;
                const lines = body.entries.map((e) => JSON.stringify(e)).join('\n') + '\n';
                const f = join(tmp, `delta-${n}.jsonl`);
                writeFileSync(f, lines);
                const [cmd, ...args] = opts.deltaRootCmd.split(' ');
                const cantor = execFileSync(cmd, [...args, String(n), f], { encoding: 'utf8', timeout: 60000 }).trim();
                expect(cantor === oz, `block ${n}: OZ root ${oz} != cantord delta root ${cantor}`);
                out({ event: 'crosscheck', block: n, entries: values.length, root: oz, match: cantor === oz });
                crosschecked++;
            }
        } finally {
            rmSync(tmp, { recursive: true, force: true });
        }
        expect(crosschecked >= Math.min(opts.crosscheck, 1), 'no anvil block with enough entries for the OZ cross-check');
    }

    const ranges = {};
    for (const [shape, list] of Object.entries(perDoc)) {
        const g = list.map((x) => x.gas);
        const path = list.map((x) => x.path);
        ranges[shape] = { documents: list.length, minGas: Math.min(...g), maxGas: Math.max(...g),
            minPath: Math.min(...path), maxPath: Math.max(...path) };
        out({ event: 'gas-range', shape, ...ranges[shape] });
    }
    if (opts.gasOut)
        writeFileSync(opts.gasOut, JSON.stringify({ verifier, solc, openzeppelin: oz, deployGas: Number(dep.gasUsed), gas, ranges }, null, 1));
    out({ event: 'done', documents: docs.length, calls, passed: tally.passed, reverted: tally.reverted,
        absentTerms: [...absentTerms].sort(), crosschecked, failures: failures.length, first: failures.slice(0, 10) });
    process.exit(failures.length ? 1 : 0);
}

main().catch((e) => {
    out({ event: 'error', message: String(e?.stack ?? e) });
    process.exit(1);
});
