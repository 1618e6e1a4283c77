// Deterministic traffic planner for the test chain. Holds a model of what the chain should look like
// (nonces, token balances as lower bounds, allowances, pairs, stores) and turns PRNG draws into
// unsigned transactions that should succeed (except the deliberate failures, flagged expectFail).
// The model is plain data (Maps, arrays, BigInts) so structuredClone() snapshots it for reorgs.
import { Interface, MaxUint256, getCreateAddress, getCreate2Address, keccak256, solidityPacked } from 'ethers';
import { UNISWAP_PAIR_INIT_CODE_HASH } from './compile.mjs';

export const E18 = 10n ** 18n;
export const DEADLINE = 2n ** 40n;
export const TRADERS = 50;
const MAX_DYNAMIC_TOKENS = 10;

export const GAS = {
    eth: 21000n, erc20: 100000n, weth: 70000n, swap: 260000n, swap2: 380000n, addLiq: 320000n,
    addLiqNewPair: 4200000n, removeLiq: 320000n, deployToken: 1600000n, deployStore: 700000n,
    store: 90000n, createPair: 3200000n, weth9: 1500000n, factory: 5000000n, router: 6500000n,
};

export class Planner {
    constructor({ prng, artifacts, addresses }) {
        this.p = prng;
        this.art = artifacts;
        this.addr = addresses; // array of account addresses (lowercase)
        this.i = {
            token: new Interface(artifacts.Token.abi),
            store: new Interface(artifacts.Store.abi),
            weth: new Interface(artifacts.WETH9.abi),
            factory: new Interface(artifacts.UniswapV2Factory.abi),
            pair: new Interface(artifacts.UniswapV2Pair.abi),
            router: new Interface(artifacts.UniswapV2Router02.abi),
        };
        this.m = null;
    }

    // ---- model ------------------------------------------------------------------------------
    freshModel(nonces) {
        this.m = {
            nonce: nonces.map(Number),
            weth: null, factory: null, router: null,
            tokens: [], // {addr, symbol, owner, routerApproved: Set<idx>|'all', bal: BigInt[]}
            pairs: [], // {addr, a, b, lpApproved: Set<idx>, lp: BigInt[]}
            stores: [], // {addr, keys: string[], raws: string[]}
            allow: [], // {tok, owner, spender, amount}
            fresh: 0,
            dynamic: 0,
        };
        return this.m;
    }

    tx(from, to, data, value, gas, kind, expectFail = false) {
        const nonce = this.m.nonce[from]++;
        return { from, nonce, to, data: data ?? '0x', value: value ?? 0n, gas, kind, expectFail };
    }

    deploy(from, art, args, gas, kind) {
        const nonce = this.m.nonce[from];
        const address = getCreateAddress({ from: this.addr[from], nonce }).toLowerCase();
        const data = art.bytecode + new Interface(art.abi).encodeDeploy(args).slice(2);
        return { t: this.tx(from, null, data, 0n, gas, kind), address };
    }

    tokenByAddr(a) {
        return this.m.tokens.find((t) => t.addr === a);
    }

    approved(tok, who) {
        return tok.routerApproved === 'all' || tok.routerApproved.has(who);
    }

    pairAddress(a, b) {
        const [t0, t1] = a < b ? [a, b] : [b, a];
        const salt = keccak256(solidityPacked(['address', 'address'], [t0, t1]));
        return getCreate2Address(this.m.factory, salt, UNISWAP_PAIR_INIT_CODE_HASH).toLowerCase();
    }

    freshAddress() {
        const h = keccak256(solidityPacked(['string', 'uint256'], ['cantord-fresh', BigInt(this.m.fresh++)]));
        return '0x' + h.slice(-40);
    }

    other(from) {
        const j = this.p.int(TRADERS - 1);
        return j >= from ? j + 1 : j;
    }

    amount(bal, maxWhole, divisor = 50n) {
        let hi = bal / divisor;
        if (hi > maxWhole * E18) hi = maxWhole * E18;
        if (hi < 10n ** 15n) return 0n;
        return this.p.big(hi / 100n + 1n, hi);
    }

    // ---- setup: contracts, mints, approvals, pairs, liquidity ---------------------------------
    // Returns an array of batches (one batch = one block).
    setupBatches() {
        const a = this.art;
        const m = this.m;
        const batches = [];
        let b = [];
        const push = (t) => {
            b.push(t);
            if (b.length >= 64) {
                batches.push(b);
                b = [];
            }
        };
        const w = this.deploy(0, a.WETH9, [], GAS.weth9, 'deploy_weth');
        push(w.t);
        m.weth = w.address;
        const f = this.deploy(0, a.UniswapV2Factory, [this.addr[0]], GAS.factory, 'deploy_factory');
        push(f.t);
        m.factory = f.address;
        const r = this.deploy(0, a.UniswapV2Router02, [m.factory, m.weth], GAS.router, 'deploy_router');
        push(r.t);
        m.router = r.address;
        m.tokens.push({ addr: m.weth, symbol: 'WETH', owner: -1, weth: true, routerApproved: 'all', bal: Array(TRADERS).fill(0n) });
        for (const sym of ['TKA', 'TKB', 'TKC']) {
            const d = this.deploy(0, a.Token, [`Token ${sym}`, sym], GAS.deployToken, 'deploy_token');
            push(d.t);
            m.tokens.push({ addr: d.address, symbol: sym, owner: 0, routerApproved: 'all', bal: Array(TRADERS).fill(0n) });
        }
        for (let k = 0; k < 2; k++) {
            const d = this.deploy(0, a.Store, [], GAS.deployStore, 'deploy_store');
            push(d.t);
            m.stores.push({ addr: d.address, keys: [], raws: [] });
        }
        batches.push(b);
        b = [];
        const [weth, tka, tkb, tkc] = m.tokens;
        for (const tok of [tka, tkb, tkc]) {
            for (let i = 0; i < TRADERS; i++) {
                const amt = 1000000n * E18;
                push(this.tx(0, tok.addr, this.i.token.encodeFunctionData('mint', [this.addr[i], amt]), 0n, GAS.erc20, 'mint'));
                tok.bal[i] += amt;
            }
        }
        for (let i = 0; i < TRADERS; i++) {
            const v = 50n * E18;
            push(this.tx(i, m.weth, this.i.weth.encodeFunctionData('deposit', []), v, GAS.weth, 'weth_deposit'));
            weth.bal[i] += v;
            for (const tok of [weth, tka, tkb, tkc])
                push(this.tx(i, tok.addr, this.i.token.encodeFunctionData('approve', [m.router, MaxUint256]), 0n, GAS.erc20, 'approve_router'));
        }
        if (b.length) batches.push(b);
        b = [];
        // Pairs: two created directly on the factory, two by the router inside addLiquidity.
        const pairs = [[tka, tkb], [tkb, tkc], [tka, weth], [tkc, weth]];
        for (const [x, y] of pairs.slice(0, 2))
            push(this.tx(0, m.factory, this.i.factory.encodeFunctionData('createPair', [x.addr, y.addr]), 0n, GAS.createPair, 'create_pair'));
        for (const [x, y] of pairs) {
            const amt = 100000n * E18;
            if (y === weth) {
                const eth = 200n * E18;
                push(this.tx(0, m.router, this.i.router.encodeFunctionData('addLiquidityETH', [x.addr, amt, 0n, 0n, this.addr[0], DEADLINE]), eth, GAS.addLiqNewPair, 'add_liquidity_eth'));
            } else {
                push(this.tx(0, m.router, this.i.router.encodeFunctionData('addLiquidity', [x.addr, y.addr, amt, amt, 0n, 0n, this.addr[0], DEADLINE]), 0n, GAS.addLiqNewPair, 'add_liquidity'));
                y.bal[0] -= amt;
            }
            x.bal[0] -= amt;
            m.pairs.push({ addr: this.pairAddress(x.addr, y.addr), a: x.addr, b: y.addr, lpApproved: new Set(), lp: Array(TRADERS).fill(0n) });
        }
        batches.push(b);
        b = [];
        // LP approvals for the first ten traders so they can remove liquidity later.
        for (const pr of m.pairs) {
            for (let i = 0; i < 10; i++) {
                push(this.tx(i, pr.addr, this.i.pair.encodeFunctionData('approve', [m.router, MaxUint256]), 0n, GAS.erc20, 'approve_lp'));
                pr.lpApproved.add(i);
            }
        }
        if (b.length) batches.push(b);
        return batches;
    }

    // ---- traffic ----------------------------------------------------------------------------
    static KINDS = [
        ['eth', 22], ['eth_fresh', 3], ['erc20_transfer', 18], ['approve', 6], ['transfer_from', 6],
        ['mint', 4], ['weth_deposit', 7], ['weth_withdraw', 4], ['swap', 9], ['swap_multi', 2],
        ['swap_eth_in', 3], ['swap_eth_out', 3], ['add_liquidity', 3], ['add_liquidity_eth', 1],
        ['remove_liquidity', 2], ['deploy_token', 1], ['deploy_store', 1], ['store_set', 5],
        ['store_clear', 2], ['fail', 1],
    ];

    // Plans one block of about `actions` actions; returns unsigned txs in mining order.
    planBlock(actions) {
        const out = [];
        for (let n = 0; n < actions && out.length < 60; n++) {
            const from = this.p.int(TRADERS);
            const kind = this.p.weighted(Planner.KINDS);
            out.push(...this.action(kind, from));
        }
        return out;
    }

    action(kind, from) {
        const m = this.m;
        const p = this.p;
        const I = this.i;
        const R = (fn, args, value, gas) => [this.tx(from, m.router, I.router.encodeFunctionData(fn, args), value ?? 0n, gas, kind)];
        switch (kind) {
        case 'eth':
            return [this.tx(from, this.addr[this.other(from)], '0x', p.big(10n ** 12n, E18 / 2n), GAS.eth, kind)];
        case 'eth_fresh':
            return [this.tx(from, this.freshAddress(), '0x', p.big(10n ** 12n, E18 / 10n), GAS.eth, kind)];
        case 'erc20_transfer': {
            const tok = p.pick(m.tokens);
            const amt = this.amount(tok.bal[from], 100n);
            if (!amt) return this.action('eth', from);
            tok.bal[from] -= amt;
            let to;
            if (p.chance(10)) {
                to = this.freshAddress();
            } else {
                const j = this.other(from);
                to = this.addr[j];
                tok.bal[j] += amt;
            }
            return [this.tx(from, tok.addr, I.token.encodeFunctionData('transfer', [to, amt]), 0n, GAS.erc20, kind)];
        }
        case 'approve': {
            const tok = p.pick(m.tokens);
            const spender = this.other(from);
            const amount = p.big(E18, 1000n * E18);
            m.allow = m.allow.filter((x) => !(x.tok === tok.addr && x.owner === from && x.spender === spender));
            m.allow.push({ tok: tok.addr, owner: from, spender, amount });
            return [this.tx(from, tok.addr, I.token.encodeFunctionData('approve', [this.addr[spender], amount]), 0n, GAS.erc20, kind)];
        }
        case 'transfer_from': {
            const cands = m.allow.filter((x) => x.spender === from && x.amount > 0n && this.tokenByAddr(x.tok).bal[x.owner] >= x.amount);
            if (!cands.length) return this.action('approve', from);
            const al = p.pick(cands);
            const tok = this.tokenByAddr(al.tok);
            const amt = p.big(1n, al.amount);
            al.amount -= amt;
            tok.bal[al.owner] -= amt;
            const j = p.int(TRADERS);
            tok.bal[j] += amt;
            return [this.tx(from, tok.addr, I.token.encodeFunctionData('transferFrom', [this.addr[al.owner], this.addr[j], amt]), 0n, GAS.erc20, kind)];
        }
        case 'mint': {
            const tok = p.pick(m.tokens.filter((t) => !t.weth));
            const to = p.int(TRADERS);
            const amt = p.big(E18, 5000n * E18);
            tok.bal[to] += amt;
            return [this.tx(tok.owner, tok.addr, I.token.encodeFunctionData('mint', [this.addr[to], amt]), 0n, GAS.erc20, kind)];
        }
        case 'weth_deposit': {
            const v = p.big(10n ** 14n, E18);
            m.tokens[0].bal[from] += v;
            return [this.tx(from, m.weth, I.weth.encodeFunctionData('deposit', []), v, GAS.weth, kind)];
        }
        case 'weth_withdraw': {
            const amt = this.amount(m.tokens[0].bal[from], 2n, 10n);
            if (!amt) return this.action('weth_deposit', from);
            m.tokens[0].bal[from] -= amt;
            return [this.tx(from, m.weth, I.weth.encodeFunctionData('withdraw', [amt]), 0n, GAS.weth, kind)];
        }
        case 'swap': {
            const pr = p.pick(m.pairs);
            const [tin, tout] = p.chance(50) ? [pr.a, pr.b] : [pr.b, pr.a];
            const tok = this.tokenByAddr(tin);
            const amt = this.amount(tok.bal[from], tok.weth ? 1n : 50n);
            if (!amt || !this.approved(tok, from)) return this.action('erc20_transfer', from);
            tok.bal[from] -= amt;
            return R('swapExactTokensForTokens', [amt, 0n, [tin, tout], this.addr[from], DEADLINE], 0n, GAS.swap);
        }
        case 'swap_multi': {
            const [, tka, tkb, tkc] = m.tokens;
            const path = p.chance(50) ? [tka, tkb, tkc] : [tkc, tkb, tka];
            const amt = this.amount(path[0].bal[from], 50n);
            if (!amt) return this.action('eth', from);
            path[0].bal[from] -= amt;
            return R('swapExactTokensForTokens', [amt, 0n, path.map((t) => t.addr), this.addr[from], DEADLINE], 0n, GAS.swap2);
        }
        case 'swap_eth_in': {
            const pr = p.pick(m.pairs.filter((x) => x.b === m.weth));
            return R('swapExactETHForTokens', [0n, [m.weth, pr.a], this.addr[from], DEADLINE], p.big(10n ** 15n, E18 / 2n), GAS.swap);
        }
        case 'swap_eth_out': {
            const pr = p.pick(m.pairs.filter((x) => x.b === m.weth));
            const tok = this.tokenByAddr(pr.a);
            const amt = this.amount(tok.bal[from], 50n);
            if (!amt || !this.approved(tok, from)) return this.action('weth_deposit', from);
            tok.bal[from] -= amt;
            return R('swapExactTokensForETH', [amt, 0n, [pr.a, m.weth], this.addr[from], DEADLINE], 0n, GAS.swap);
        }
        case 'add_liquidity': {
            const pr = p.pick(m.pairs.filter((x) => x.b !== m.weth));
            const ta = this.tokenByAddr(pr.a);
            const tb = this.tokenByAddr(pr.b);
            const x = this.amount(ta.bal[from], 1000n, 20n);
            const y = this.amount(tb.bal[from], 1000n, 20n);
            if (!x || !y || !this.approved(ta, from) || !this.approved(tb, from)) return this.action('swap', from);
            ta.bal[from] -= x;
            tb.bal[from] -= y;
            return R('addLiquidity', [pr.a, pr.b, x, y, 0n, 0n, this.addr[from], DEADLINE], 0n, GAS.addLiq);
        }
        case 'add_liquidity_eth': {
            const pr = p.pick(m.pairs.filter((x) => x.b === m.weth));
            const tok = this.tokenByAddr(pr.a);
            const x = this.amount(tok.bal[from], 1000n, 20n);
            if (!x || !this.approved(tok, from)) return this.action('swap_eth_in', from);
            tok.bal[from] -= x;
            return R('addLiquidityETH', [pr.a, x, 0n, 0n, this.addr[from], DEADLINE], p.big(10n ** 16n, 2n * E18), GAS.addLiq);
        }
        case 'remove_liquidity': {
            const cands = m.pairs.filter((x) => x.lpApproved.has(from) && x.lp[from] > 10n ** 12n);
            if (!cands.length) return this.action('add_liquidity', from);
            const pr = p.pick(cands);
            const liq = pr.lp[from] / 4n;
            pr.lp[from] -= liq;
            return R('removeLiquidity', [pr.a, pr.b, liq, 0n, 0n, this.addr[from], DEADLINE], 0n, GAS.removeLiq);
        }
        case 'deploy_token': {
            const n = ++m.dynamic;
            const sym = `DYN${n}`;
            const d = this.deploy(from, this.art.Token, [`Dynamic ${n}`, sym], GAS.deployToken, kind);
            const tok = { addr: d.address, symbol: sym, owner: from, routerApproved: new Set([from]), bal: Array(TRADERS).fill(0n) };
            const txs = [d.t];
            const minted = 1000000n * E18;
            txs.push(this.tx(from, tok.addr, I.token.encodeFunctionData('mint', [this.addr[from], minted]), 0n, GAS.erc20, 'mint'));
            tok.bal[from] = minted;
            m.tokens.push(tok);
            const tka = m.tokens[1];
            const seed = 1000n * E18;
            if (n <= MAX_DYNAMIC_TOKENS && tka.bal[from] >= seed) {
                // A new pair through the router (createPair inside addLiquidity), then LP approval.
                txs.push(this.tx(from, tok.addr, I.token.encodeFunctionData('approve', [m.router, MaxUint256]), 0n, GAS.erc20, 'approve_router'));
                txs.push(this.tx(from, m.router, I.router.encodeFunctionData('addLiquidity', [tok.addr, tka.addr, seed, seed, 0n, 0n, this.addr[from], DEADLINE]), 0n, GAS.addLiqNewPair, 'add_liquidity_new_pair'));
                tok.bal[from] -= seed;
                tka.bal[from] -= seed;
                const pr = { addr: this.pairAddress(tok.addr, tka.addr), a: tok.addr, b: tka.addr, lpApproved: new Set([from]), lp: Array(TRADERS).fill(0n) };
                txs.push(this.tx(from, pr.addr, I.pair.encodeFunctionData('approve', [m.router, MaxUint256]), 0n, GAS.erc20, 'approve_lp'));
                m.pairs.push(pr);
            }
            return txs;
        }
        case 'deploy_store': {
            const d = this.deploy(from, this.art.Store, [], GAS.deployStore, kind);
            m.stores.push({ addr: d.address, keys: [], raws: [] });
            return [d.t];
        }
        case 'store_set': {
            const st = p.pick(m.stores);
            const v = p.big(1n, 2n ** 64n);
            if (p.chance(30)) {
                const slot = (st.raws.length && p.chance(40) ? BigInt(p.pick(st.raws)) : BigInt(p.range(16, 4096)));
                if (!st.raws.includes(slot.toString())) st.raws.push(slot.toString());
                return [this.tx(from, st.addr, I.store.encodeFunctionData('setRaw', [slot, v]), 0n, GAS.store, kind)];
            }
            const key = st.keys.length && p.chance(40) ? BigInt(p.pick(st.keys)) : BigInt(p.u32());
            if (!st.keys.includes(key.toString())) st.keys.push(key.toString());
            return [this.tx(from, st.addr, I.store.encodeFunctionData('set', [key, v]), 0n, GAS.store, kind)];
        }
        case 'store_clear': {
            const st = p.pick(m.stores);
            if (st.raws.length && p.chance(30)) {
                const slot = st.raws.splice(p.int(st.raws.length), 1)[0];
                return [this.tx(from, st.addr, I.store.encodeFunctionData('setRaw', [BigInt(slot), 0n]), 0n, GAS.store, kind)];
            }
            if (!st.keys.length) return this.action('store_set', from);
            const key = st.keys.splice(p.int(st.keys.length), 1)[0];
            return [this.tx(from, st.addr, I.store.encodeFunctionData('clear', [BigInt(key)]), 0n, GAS.store, kind)];
        }
        case 'fail': {
            // Reverts on purpose ("balance"): a failed tx still changes nonce and balances.
            const tka = m.tokens[1];
            return [this.tx(from, tka.addr, I.token.encodeFunctionData('transfer', [this.addr[this.other(from)], 2n ** 200n]), 0n, GAS.erc20, kind, true)];
        }
        default:
            throw new Error(`unknown action ${kind}`);
        }
    }

    // ---- resync: replace lower bounds with the chain's real values -----------------------------
    resyncCalls() {
        const calls = [];
        const bo = (a) => this.i.token.encodeFunctionData('balanceOf', [a]);
        for (const tok of this.m.tokens)
            for (let i = 0; i < TRADERS; i++) calls.push({ method: 'eth_call', params: [{ to: tok.addr, data: bo(this.addr[i]) }, 'latest'] });
        for (const pr of this.m.pairs)
            for (let i = 0; i < TRADERS; i++) calls.push({ method: 'eth_call', params: [{ to: pr.addr, data: bo(this.addr[i]) }, 'latest'] });
        for (let i = 0; i < this.addr.length; i++) calls.push({ method: 'eth_getTransactionCount', params: [this.addr[i], 'latest'] });
        return calls;
    }

    applyResync(results) {
        let k = 0;
        for (const tok of this.m.tokens) for (let i = 0; i < TRADERS; i++) tok.bal[i] = BigInt(results[k++]);
        for (const pr of this.m.pairs) for (let i = 0; i < TRADERS; i++) pr.lp[i] = BigInt(results[k++]);
        const bad = [];
        for (let i = 0; i < this.addr.length; i++) {
            const n = Number(results[k++]);
            if (n !== this.m.nonce[i]) bad.push({ account: i, model: this.m.nonce[i], chain: n });
            this.m.nonce[i] = n;
        }
        return bad;
    }
}
