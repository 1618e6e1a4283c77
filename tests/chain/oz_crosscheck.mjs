// oz_crosscheck.mjs - reads {"types": [...], "values": [[...], ...]} (written by test_merkle.c) from
// the file named on the command line, builds StandardMerkleTree.of(values, types) with the real
// @openzeppelin/merkle-tree package and prints {"root", "proof0"} (proof0: proof of values[0]) as JSON.
import { readFileSync } from 'node:fs';
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';

const input = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const tree = StandardMerkleTree.of(input.values, input.types);
const proof0 = tree.getProof(0);
if (!StandardMerkleTree.verify(tree.root, input.types, input.values[0], proof0)) {
  throw new Error('OZ does not verify its own proof');
}
process.stdout.write(JSON.stringify({ root: tree.root, proof0 }) + '\n');
