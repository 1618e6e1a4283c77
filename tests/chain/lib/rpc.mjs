// Minimal JSON-RPC 2.0 client over fetch for the test chain scripts: single calls and batches.
// Every call has a timeout and every response a size limit; a server that rejects batches
// (answers a batch with a non-array) is detected once and then served one call at a time.

const MAX_RESPONSE_BYTES = 256 * 1024 * 1024;

export class RpcError extends Error {
    constructor(method, message, code, data) {
        super(`${method}: ${message}`);
        this.method = method;
        this.code = code;
        this.data = data;
    }
}

export class Rpc {
    constructor(url, { timeoutMs = 60000, maxBatch = 200, concurrency = 8 } = {}) {
        this.url = url;
        this.timeoutMs = timeoutMs;
        this.maxBatch = maxBatch;
        this.concurrency = concurrency;
        this.batchOk = true;
        this.nextId = 1;
        this.requests = 0;
    }

    async post(body) {
        this.requests++;
        const res = await fetch(this.url, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(body),
            signal: AbortSignal.timeout(this.timeoutMs),
        });
        const text = await res.text();
        if (text.length > MAX_RESPONSE_BYTES)
            throw new RpcError('http', `response too large (${text.length} bytes)`);
        let json;
        try {
            json = JSON.parse(text);
        } catch {
            throw new RpcError('http', `HTTP ${res.status}, not JSON: ${text.slice(0, 200)}`);
        }
        return { status: res.status, json };
    }

    // One call; throws RpcError on a JSON-RPC error.
    async call(method, params = []) {
        const id = this.nextId++;
        const { status, json } = await this.post({ jsonrpc: '2.0', id, method, params });
        if (json === null || typeof json !== 'object' || Array.isArray(json))
            throw new RpcError(method, `HTTP ${status}, bad response shape`);
        if (json.error)
            throw new RpcError(method, json.error.message ?? 'error', json.error.code, json.error.data);
        if (!('result' in json)) throw new RpcError(method, `HTTP ${status}, no result`);
        return json.result;
    }

    // Many calls; returns [{result} | {error: RpcError}] in order, never throws for a per-call error.
    async batchSettled(calls) {
        const out = new Array(calls.length);
        for (let start = 0; start < calls.length; start += this.maxBatch) {
            const part = calls.slice(start, start + this.maxBatch);
            const res = this.batchOk ? await this.tryBatch(part) : null;
            if (res) {
                res.forEach((r, i) => (out[start + i] = r));
                continue;
            }
            await this.singles(part, (i, r) => (out[start + i] = r));
        }
        return out;
    }

    // Many calls; throws the first error.
    async batch(calls) {
        const res = await this.batchSettled(calls);
        return res.map((r) => {
            if (r.error) throw r.error;
            return r.result;
        });
    }

    async tryBatch(part) {
        const body = part.map((c) => ({ jsonrpc: '2.0', id: this.nextId++, method: c.method, params: c.params ?? [] }));
        const { json } = await this.post(body);
        if (!Array.isArray(json) || json.length !== part.length) {
            this.batchOk = false;
            return null;
        }
        const byId = new Map(json.map((r) => [r?.id, r]));
        return body.map((req, i) => {
            const r = byId.get(req.id);
            if (!r) return { error: new RpcError(part[i].method, 'missing from batch response') };
            if (r.error) return { error: new RpcError(part[i].method, r.error.message ?? 'error', r.error.code, r.error.data) };
            if (!('result' in r)) return { error: new RpcError(part[i].method, 'no result') };
            return { result: r.result };
        });
    }

    async singles(part, put) {
        let next = 0;
        const worker = async () => {
            while (next < part.length) {
                const i = next++;
                try {
                    put(i, { result: await this.call(part[i].method, part[i].params ?? []) });
                } catch (e) {
                    put(i, { error: e instanceof RpcError ? e : new RpcError(part[i].method, e.message) });
                }
            }
        };
        await Promise.all(Array.from({ length: Math.min(this.concurrency, part.length) }, worker));
    }
}
