import { describe, expect, it } from 'vitest';
import { makePost } from './calendar-fixtures';
import { ApiError } from './api/errors';
import type { CalendarPost } from './calendar';
import { CalendarPosts } from './calendar.svelte';

const post = (id: string, scheduled_at: string): CalendarPost => makePost(id, scheduled_at);

const query = { start: '2026-12-01T00:00:00+00:00', end: '2027-01-01T00:00:00+00:00' };

function deferred<T>() {
	let resolve!: (value: T) => void;
	let reject!: (err: unknown) => void;
	const promise = new Promise<T>((res, rej) => {
		resolve = res;
		reject = rej;
	});
	return { promise, resolve, reject };
}

describe('CalendarPosts', () => {
	it('loads a range and reports errors', async () => {
		let fail = false;
		const data = new CalendarPosts(async () => {
			if (fail) throw new ApiError(422, 'invalid_range', 'Too long.');
			return { items: [post('a', '2026-12-03T09:00:00Z')], truncated: true };
		});
		await data.load(query);
		expect(data.status).toBe('ready');
		expect(data.truncated).toBe(true);
		fail = true;
		await data.refresh(); // quiet: keeps the posts
		expect(data.status).toBe('ready');
		expect(data.posts).toHaveLength(1);
		await data.load(query);
		expect(data.status).toBe('error');
		expect(data.error).toBe('Too long.');
	});

	it('moves optimistically and keeps the API answer', async () => {
		const data = new CalendarPosts(async () => ({ items: [post('a', '2026-12-03T09:00:00Z')], truncated: false }));
		await data.load(query);
		const answer = deferred<{ post: CalendarPost; scheduled_at: string }>();
		const moving = data.move('a', { at: '2026-12-10T09:00:00', instant: Date.parse('2026-12-10T09:00:00Z') }, async () =>
			answer.promise
		);
		expect(data.posts[0]!.scheduled_at).toBe('2026-12-10T09:00:00.000Z');
		expect(data.moving).toEqual(['a']);
		// A live refetch that still has the old time does not undo the move on screen.
		await data.refresh();
		expect(data.posts[0]!.scheduled_at).toBe('2026-12-10T09:00:00.000Z');
		answer.resolve({ post: post('a', '2026-12-10T09:00:00Z'), scheduled_at: '2026-12-10T09:00:00Z' });
		await moving;
		expect(data.posts[0]!.scheduled_at).toBe('2026-12-10T09:00:00Z');
		expect(data.moving).toEqual([]);
	});

	it('rolls back when the API refuses', async () => {
		const data = new CalendarPosts(async () => ({ items: [post('a', '2026-12-03T09:00:00Z')], truncated: false }));
		await data.load(query);
		await expect(
			data.move('a', { at: '2026-12-10T09:00:00', instant: Date.parse('2026-12-10T09:00:00Z') }, async () => {
				throw new ApiError(403, 'approval_required', 'Needs approval.');
			})
		).rejects.toThrow('Needs approval.');
		expect(data.posts[0]!.scheduled_at).toBe('2026-12-03T09:00:00Z');
		expect(data.moving).toEqual([]);
	});
});
