import { afterEach, describe, expect, it } from 'vitest';
import { ApiError, call, createApi, setUnauthenticatedHandler } from './client';

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
	return new Response(JSON.stringify(body), {
		status,
		headers: { 'Content-Type': 'application/json', ...headers }
	});
}

function recordingApi(respond: (req: Request) => Response | Promise<Response>, cookies = 'pw_csrf=c5rf') {
	const seen: Request[] = [];
	const api = createApi({
		baseUrl: 'http://pw.test',
		cookies: () => cookies,
		fetch: async (req) => {
			seen.push(req);
			return respond(req);
		}
	});
	return { api, seen };
}

afterEach(() => setUnauthenticatedHandler(null));

describe('api client', () => {
	it('returns data and sends no CSRF header on GET', async () => {
		const { api, seen } = recordingApi(() => json(200, { needs_setup: true }));
		const data = await call(api.GET('/api/v1/setup'));
		expect(data).toEqual({ needs_setup: true });
		expect(seen[0]?.url).toBe('http://pw.test/api/v1/setup');
		expect(seen[0]?.headers.has('X-CSRF-Token')).toBe(false);
		expect(seen[0]?.credentials).toBe('same-origin');
	});

	it('adds X-CSRF-Token from the pw_csrf cookie on unsafe methods', async () => {
		const { api, seen } = recordingApi(() => new Response(null, { status: 204 }));
		await call(api.POST('/api/v1/auth/logout'));
		await call(api.DELETE('/api/v1/me/tokens/{token_id}', { params: { path: { token_id: 't1' } } }));
		expect(seen.map((r) => r.headers.get('X-CSRF-Token'))).toEqual(['c5rf', 'c5rf']);
		expect(seen[1]?.url).toBe('http://pw.test/api/v1/me/tokens/t1');
	});

	it('throws a typed ApiError with the server message', async () => {
		const { api } = recordingApi(() =>
			json(401, { error: { code: 'invalid_credentials', message: 'Email or password is wrong.' } })
		);
		const failure = call(api.POST('/api/v1/auth/login', { body: { email: 'a@b.c', password: 'x' } }), {
			allowUnauthenticated: true
		});
		await expect(failure).rejects.toBeInstanceOf(ApiError);
		await expect(failure).rejects.toMatchObject({
			status: 401,
			code: 'invalid_credentials',
			message: 'Email or password is wrong.'
		});
	});

	it('calls the 401 handler unless the call opts out', async () => {
		const seen: string[] = [];
		setUnauthenticatedHandler((e) => seen.push(e.code));
		const { api } = recordingApi(() => json(401, { error: { code: 'unauthenticated', message: 'Sign in.' } }));
		await expect(call(api.GET('/api/v1/me'))).rejects.toThrow('Sign in.');
		await expect(call(api.GET('/api/v1/me'), { allowUnauthenticated: true })).rejects.toThrow('Sign in.');
		expect(seen).toEqual(['unauthenticated']);
	});

	it('passes Retry-After through for rate limits', async () => {
		const { api } = recordingApi(() =>
			json(429, { error: { code: 'rate_limited', message: 'Slow down.' } }, { 'Retry-After': '7' })
		);
		await expect(
			call(api.POST('/api/v1/auth/login', { body: { email: 'a@b.c', password: 'x' } }))
		).rejects.toMatchObject({ status: 429, retryAfter: 7, message: 'Slow down.' });
	});

	it('turns a network failure into a network_error ApiError', async () => {
		const { api } = recordingApi(() => {
			throw new TypeError('Failed to fetch');
		});
		await expect(call(api.GET('/api/v1/me'))).rejects.toMatchObject({ status: 0, code: 'network_error' });
	});
});
