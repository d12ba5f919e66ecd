import { describe, expect, it } from 'vitest';
import { PagedList, type Page } from './paged.svelte';
import { ApiError } from './api/errors';

describe('PagedList', () => {
	it('loads pages and follows the cursor', async () => {
		const pages: Record<string, Page<number>> = {
			first: { items: [1, 2], next_cursor: 'c2' },
			c2: { items: [3], next_cursor: null }
		};
		const list = new PagedList<number>(async (cursor) => pages[cursor ?? 'first']!);
		expect(list.status).toBe('loading');
		await list.reload();
		expect(list.status).toBe('ready');
		expect(list.items).toEqual([1, 2]);
		expect(list.nextCursor).toBe('c2');
		await list.more();
		expect(list.items).toEqual([1, 2, 3]);
		expect(list.nextCursor).toBeNull();
		list.prepend(0);
		list.remove((n) => n === 2);
		expect(list.items).toEqual([0, 1, 3]);
	});

	it('shows the API error message', async () => {
		const list = new PagedList<number>(async () => {
			throw new ApiError(403, 'forbidden', 'Only admins can see invitations.');
		});
		await list.reload();
		expect(list.status).toBe('error');
		expect(list.error).toBe('Only admins can see invitations.');
	});

	it('ignores answers to an older reload', async () => {
		let resolveOld: (p: Page<string>) => void = () => {};
		let call = 0;
		const list = new PagedList<string>(() => {
			call += 1;
			if (call === 1) return new Promise((resolve) => (resolveOld = resolve));
			return Promise.resolve({ items: ['new'], next_cursor: null });
		});
		const old = list.reload();
		await list.reload();
		resolveOld({ items: ['old'], next_cursor: null });
		await old;
		expect(list.items).toEqual(['new']);
	});
});
