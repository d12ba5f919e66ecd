import { describe, expect, it } from 'vitest';
import { ApiError } from './api/errors';
import { NotificationFeed, type AppNotification, type FeedSource } from './notifications.svelte';

function notification(id: string, read = false): AppNotification {
	return {
		id,
		type: 'post.failed',
		title: 'A post could not be published',
		body: '“Hi” could not be published on any network.',
		link: '/posts/1',
		data: {},
		created_at: '2026-11-22T10:00:00Z',
		read_at: read ? '2026-11-22T10:05:00Z' : null
	};
}

function source(items: AppNotification[]): FeedSource & { marked: (string[] | null)[] } {
	const marked: (string[] | null)[] = [];
	return {
		marked,
		async load() {
			return { items, unread: items.filter((n) => n.read_at == null).length };
		},
		async markRead(_workspace, ids) {
			marked.push(ids);
			for (const n of items) if (ids === null || ids.includes(n.id)) n.read_at = 'now';
			return { unread: items.filter((n) => n.read_at == null).length };
		}
	};
}

describe('NotificationFeed', () => {
	it('loads the feed with its unread count', async () => {
		const feed = new NotificationFeed(source([notification('a'), notification('b', true)]));
		await feed.load('ws');
		expect(feed.status).toBe('ready');
		expect(feed.items.map((n) => n.id)).toEqual(['a', 'b']);
		expect(feed.unread).toBe(1);
	});

	it('marks one or all read and takes the count from the server', async () => {
		const backend = source([notification('a'), notification('b'), notification('c')]);
		const feed = new NotificationFeed(backend);
		await feed.load('ws');
		await feed.markRead(['a']);
		expect(feed.unread).toBe(2);
		expect(feed.items.find((n) => n.id === 'a')?.read_at).not.toBeNull();
		await feed.markRead(null);
		expect(feed.unread).toBe(0);
		expect(backend.marked).toEqual([['a'], null]);
	});

	it('shows an error when the first load fails, keeps the items when a reload fails', async () => {
		let fail = true;
		const feed = new NotificationFeed({
			async load() {
				if (fail) throw new ApiError(0, 'network_error', 'Cannot reach the server.');
				return { items: [notification('a')], unread: 1 };
			},
			async markRead() {
				return { unread: 0 };
			}
		});
		await feed.load('ws');
		expect(feed.status).toBe('error');
		expect(feed.error).toBe('Cannot reach the server.');
		fail = false;
		await feed.reload();
		expect(feed.status).toBe('ready');
		fail = true;
		await feed.reload();
		expect(feed.status).toBe('ready');
		expect(feed.items).toHaveLength(1);
	});
});
