// Seeded PRNG (sfc32) for deterministic traffic: same seed, same chain. Never Math.random.
// The 128-bit state is derived from keccak256 of the seed string and can be saved and restored.
import { keccak256, toUtf8Bytes } from 'ethers';

export class Prng {
    constructor(seed) {
        const h = keccak256(toUtf8Bytes(`cantord-devchain:${seed}`)).slice(2);
        this.s = [0, 1, 2, 3].map((i) => parseInt(h.slice(i * 8, i * 8 + 8), 16) >>> 0);
        for (let i = 0; i < 16; i++) this.u32();
    }

    u32() {
        let [a, b, c, d] = this.s;
        d = (d + 1) >>> 0;
        const t = (((a + b) >>> 0) + d) >>> 0;
        a = b ^ (b >>> 9);
        b = (c + (c << 3)) >>> 0;
        c = ((c << 21) | (c >>> 11)) >>> 0;
        c = (c + t) >>> 0;
        this.s = [a >>> 0, b, c, d];
        return t;
    }

    // Integer in [0, n), n < 2^32; rejection sampling keeps it unbiased.
    int(n) {
        if (n <= 1) return 0;
        const limit = Math.floor(0x100000000 / n) * n;
        for (;;) {
            const x = this.u32();
            if (x < limit) return x % n;
        }
    }

    range(lo, hi) {
        return lo + this.int(hi - lo + 1);
    }

    chance(percent) {
        return this.int(10000) < Math.round(percent * 100);
    }

    pick(arr) {
        return arr[this.int(arr.length)];
    }

    // BigInt in [lo, hi] (inclusive), hi - lo < 2^64.
    big(lo, hi) {
        const span = hi - lo + 1n;
        const x = (BigInt(this.u32()) << 32n) | BigInt(this.u32());
        return lo + (x % span);
    }

    // Weighted choice over [[name, weight], ...] with integer weights.
    weighted(table) {
        const total = table.reduce((s, [, w]) => s + w, 0);
        let x = this.int(total);
        for (const [name, w] of table) {
            if (x < w) return name;
            x -= w;
        }
        return table[table.length - 1][0];
    }

    save() {
        return [...this.s];
    }

    restore(s) {
        this.s = [...s];
    }
}
