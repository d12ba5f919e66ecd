import { describe, expect, it } from 'vitest';
import { ApiError } from './api/errors';
import type { NetworkInfo } from './connect';
import { NetworkCatalog } from './network-catalog.svelte';

const info = (id: NetworkInfo['id'], label: string, connect: NetworkInfo['connect']): NetworkInfo => ({
	id,
	label,
	connect,
	unavailable_reason: null,
	connect_fields: [],
	provides_metrics: true,
	max_text_length: 500
});

describe('NetworkCatalog', () => {
	it('loads the networks, sandbox first, and finds one by id', async () => {
		const catalog = new NetworkCatalog(async () => [info('x', 'X', 'unavailable'), info('sandbox', 'Sandbox', 'form')]);
		expect(catalog.status).toBe('loading');
		await catalog.load();
		expect(catalog.status).toBe('ready');
		expect(catalog.networks.map((n) => n.id)).toEqual(['sandbox', 'x']);
		expect(catalog.find('x')?.label).toBe('X');
		expect(catalog.find('mastodon')).toBeNull();
	});

	it('shows the error when loading fails', async () => {
		const catalog = new NetworkCatalog(async () => {
			throw new ApiError(500, 'server_error', 'The server had a problem.');
		});
		await catalog.load();
		expect(catalog.status).toBe('error');
		expect(catalog.error).toBe('The server had a problem.');
	});
});
