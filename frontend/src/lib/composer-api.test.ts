import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError, upload } from './api/client';

/** A stand-in for XMLHttpRequest that answers `status` with `body`. */
function fakeXhr(status: number, body: string, headers: Record<string, string> = {}) {
	const sent: { method: string; url: string; headers: Record<string, string>; body: unknown }[] = [];
	class FakeXhr {
		status = 0;
		responseText = '';
		withCredentials = false;
		#listeners: Record<string, (() => void)[]> = {};
		#request = { method: '', url: '', headers: {} as Record<string, string>, body: null as unknown };
		upload = {
			listeners: [] as ((e: { lengthComputable: boolean; loaded: number; total: number }) => void)[],
			addEventListener(_type: string, fn: (e: { lengthComputable: boolean; loaded: number; total: number }) => void) {
				this.listeners.push(fn);
			}
		};
		open(method: string, url: string) {
			this.#request.method = method;
			this.#request.url = url;
		}
		setRequestHeader(key: string, value: string) {
			this.#request.headers[key.toLowerCase()] = value;
		}
		addEventListener(type: string, fn: () => void) {
			(this.#listeners[type] ??= []).push(fn);
		}
		getResponseHeader(key: string) {
			return headers[key] ?? null;
		}
		abort() {
			for (const fn of this.#listeners.abort ?? []) fn();
		}
		send(payload: unknown) {
			this.#request.body = payload;
			sent.push(this.#request);
			queueMicrotask(() => {
				for (const fn of this.upload.listeners) fn({ lengthComputable: true, loaded: 5, total: 10 });
				this.status = status;
				this.responseText = body;
				for (const fn of this.#listeners.load ?? []) fn();
			});
		}
	}
	vi.stubGlobal('XMLHttpRequest', FakeXhr);
	return sent;
}

afterEach(() => vi.unstubAllGlobals());

describe('upload', () => {
	it('posts the form with the CSRF header and reports progress', async () => {
		const sent = fakeXhr(201, JSON.stringify({ id: 'm1' }));
		const progress: number[] = [];
		const form = new FormData();
		form.append('file', new Blob(['x']), 'a.png');
		const media = await upload<{ id: string }>('/api/v1/workspaces/w/media', form, {
			cookies: () => 'pw_csrf=tok',
			onProgress: (p) => progress.push(p)
		});
		expect(media).toEqual({ id: 'm1' });
		expect(sent[0]?.method).toBe('POST');
		expect(sent[0]?.headers['x-csrf-token']).toBe('tok');
		expect(sent[0]?.body).toBe(form);
		expect(progress).toEqual([0.5, 1]);
	});

	it('turns an error answer into an ApiError', async () => {
		fakeXhr(415, JSON.stringify({ error: { code: 'unsupported_media_type', message: 'Only JPEG, PNG, WebP, GIF or MP4.' } }));
		const error = await upload('/x', new FormData(), { cookies: () => '' }).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(ApiError);
		expect((error as ApiError).status).toBe(415);
		expect((error as ApiError).message).toBe('Only JPEG, PNG, WebP, GIF or MP4.');
	});

	it('can be cancelled', async () => {
		fakeXhr(201, '{}');
		const controller = new AbortController();
		controller.abort();
		const error = await upload('/x', new FormData(), { signal: controller.signal, cookies: () => '' }).catch((e: unknown) => e);
		expect((error as ApiError).code).toBe('aborted');
	});
});
