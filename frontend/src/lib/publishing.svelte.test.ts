import { afterEach, describe, expect, it, vi } from 'vitest';
import { ApiError } from './api/errors';
import type { PublishingHealth } from './publishing';
import { PublishingHealthMonitor } from './publishing.svelte';

const healthy = (alert: string | null = null, depth = 0): PublishingHealth => ({
	workers: [],
	queue_depth: depth,
	due_not_started: 0,
	oldest_due_seconds: null,
	recent_failures: [],
	alert
});

afterEach(() => {
	vi.useRealTimers();
});

describe('PublishingHealthMonitor', () => {
	it('loads, then keeps the last answer when a refresh fails', async () => {
		let fail = false;
		const monitor = new PublishingHealthMonitor(async () => {
			if (fail) throw new ApiError(0, 'network_error', 'Cannot reach the server.');
			return healthy('Posts are due');
		});
		expect(monitor.status).toBe('loading');
		await monitor.load('ws');
		expect(monitor.status).toBe('ready');
		expect(monitor.health?.alert).toBe('Posts are due');
		fail = true;
		await monitor.refresh();
		expect(monitor.status).toBe('ready');
		expect(monitor.health?.alert).toBe('Posts are due');
		expect(monitor.error).toBe('Cannot reach the server.');
	});

	it('shows an error when the first load fails', async () => {
		const monitor = new PublishingHealthMonitor(async () => {
			throw new ApiError(403, 'forbidden', 'Not a member.');
		});
		await monitor.load('ws');
		expect(monitor.status).toBe('error');
		expect(monitor.error).toBe('Not a member.');
	});

	it('drops answers to an older request and forgets another workspace’s answer', async () => {
		const answers: Record<string, (h: PublishingHealth) => void> = {};
		const monitor = new PublishingHealthMonitor((ws) => new Promise((resolve) => (answers[ws] = resolve)));
		const first = monitor.load('a');
		const second = monitor.load('b');
		answers.a?.(healthy('old'));
		answers.b?.(healthy(null, 3));
		await Promise.all([first, second]);
		expect(monitor.health?.alert).toBeNull();
		expect(monitor.health?.queue_depth).toBe(3);
	});

	it('polls until stopped', async () => {
		vi.useFakeTimers();
		let calls = 0;
		const monitor = new PublishingHealthMonitor(async () => {
			calls += 1;
			return healthy(null, calls);
		});
		const stop = monitor.watch('ws', { everyMs: 30_000 });
		await vi.advanceTimersByTimeAsync(0);
		expect(calls).toBe(1);
		await vi.advanceTimersByTimeAsync(60_000);
		expect(calls).toBe(3);
		expect(monitor.health?.queue_depth).toBe(3);
		stop();
		await vi.advanceTimersByTimeAsync(60_000);
		expect(calls).toBe(3);
	});
});
