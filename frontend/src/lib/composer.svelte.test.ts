import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from './api/errors';
import type { PostCheck, PostCreate } from './composer';
import { LengthChecker, setPostFlash, takePostFlash } from './composer.svelte';

function answer(count: number, accountId = 'a1'): PostCheck {
	return {
		ok: count <= 280,
		targets: [{ account_id: accountId, network: 'x', text_length: { count, limit: 280 }, violations: [] }]
	};
}

const body = (text: string): PostCreate => ({ text, targets: [{ account_id: 'a1' }] });

describe('LengthChecker', () => {
	beforeEach(() => vi.useFakeTimers());
	afterEach(() => vi.useRealTimers());

	it('waits for a quiet moment and asks once', async () => {
		const fetch = vi.fn(async (b: PostCreate) => answer(b.text?.length ?? 0));
		const checker = new LengthChecker(fetch, 300);
		checker.request(body('a'));
		checker.request(body('ab'));
		checker.request(body('abc'));
		expect(checker.checking).toBe(true);
		await vi.advanceTimersByTimeAsync(299);
		expect(fetch).not.toHaveBeenCalled();
		await vi.advanceTimersByTimeAsync(1);
		expect(fetch).toHaveBeenCalledTimes(1);
		expect(fetch.mock.calls[0]?.[0].text).toBe('abc');
		expect(checker.results.a1?.text_length.count).toBe(3);
		expect(checker.checking).toBe(false);
	});

	it('cancels the request in flight and ignores its answer', async () => {
		const signals: AbortSignal[] = [];
		const resolvers: ((v: PostCheck) => void)[] = [];
		const fetch = vi.fn(
			(_b: PostCreate, signal: AbortSignal) =>
				new Promise<PostCheck>((resolve) => {
					signals.push(signal);
					resolvers.push(resolve);
				})
		);
		const checker = new LengthChecker(fetch, 300);
		checker.request(body('old'));
		await vi.advanceTimersByTimeAsync(300);
		checker.request(body('newer'));
		expect(signals[0]?.aborted).toBe(true);
		await vi.advanceTimersByTimeAsync(300);
		resolvers[1]?.(answer(5));
		resolvers[0]?.(answer(999));
		await vi.advanceTimersByTimeAsync(0);
		expect(checker.results.a1?.text_length.count).toBe(5);
		expect(checker.checking).toBe(false);
	});

	it('shows errors but not cancellations', async () => {
		const fetch = vi.fn(async () => {
			throw new ApiError(422, 'unknown_account', 'That account is not connected to this workspace.');
		});
		const checker = new LengthChecker(fetch, 10);
		checker.request(body('x'));
		await vi.advanceTimersByTimeAsync(10);
		expect(checker.error).toBe('That account is not connected to this workspace.');
		expect(checker.checking).toBe(false);
	});

	it('clears everything when there are no targets', async () => {
		const fetch = vi.fn(async () => answer(1));
		const checker = new LengthChecker(fetch, 10);
		checker.request(body('x'));
		await vi.advanceTimersByTimeAsync(10);
		expect(Object.keys(checker.results)).toEqual(['a1']);
		checker.request({ text: 'x', targets: [] });
		expect(checker.results).toEqual({});
		expect(checker.checking).toBe(false);
		await vi.advanceTimersByTimeAsync(100);
		expect(fetch).toHaveBeenCalledTimes(1);
	});

	it('stops on dispose', async () => {
		const fetch = vi.fn(async () => answer(1));
		const checker = new LengthChecker(fetch, 10);
		checker.request(body('x'));
		checker.dispose();
		await vi.advanceTimersByTimeAsync(50);
		expect(fetch).not.toHaveBeenCalled();
		expect(checker.checking).toBe(false);
	});
});

describe('post flash', () => {
	it('is read once, by the right post', () => {
		setPostFlash('p1', 'Added to the queue.');
		expect(takePostFlash('p2')).toBeNull();
		expect(takePostFlash('p1')).toBe('Added to the queue.');
		expect(takePostFlash('p1')).toBeNull();
	});
});
