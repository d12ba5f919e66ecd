import { describe, expect, it } from 'vitest';
import { ApiError } from './api/errors';
import { AnalyticsDashboard, changesNumbers, type DashboardData } from './analytics.svelte';

const query = { period: '30d' as const, timezone: 'UTC' };

function data(engagements: number): DashboardData {
	return { overview: { metrics: [{ name: 'engagements', current: engagements }] } } as unknown as DashboardData;
}

describe('AnalyticsDashboard', () => {
	it('loads, then keeps the last numbers when a quiet refresh fails', async () => {
		let calls = 0;
		const dashboard = new AnalyticsDashboard(async () => {
			calls++;
			if (calls === 2) throw new ApiError(503, 'unavailable', 'The database is busy.');
			return data(calls * 10);
		});
		expect(dashboard.status).toBe('loading');
		await dashboard.load('ws', query);
		expect(dashboard.status).toBe('ready');
		expect(dashboard.data).toEqual(data(10));

		await dashboard.load('ws', query, true);
		expect(dashboard.status).toBe('ready');
		expect(dashboard.data).toEqual(data(10));
		expect(dashboard.error).toBe('The database is busy.');

		await dashboard.load('ws', query, true);
		expect(dashboard.data).toEqual(data(30));
		expect(dashboard.error).toBeNull();
	});

	it('shows loading, not the old numbers, for another period', async () => {
		let release: (value: DashboardData) => void = () => {};
		const dashboard = new AnalyticsDashboard(async (_ws, q) =>
			q.period === '30d' ? data(1) : new Promise<DashboardData>((resolve) => (release = resolve))
		);
		await dashboard.load('ws', query);
		const pending = dashboard.load('ws', { ...query, period: '7d' }, true);
		expect(dashboard.status).toBe('loading');
		release(data(2));
		await pending;
		expect(dashboard.data).toEqual(data(2));
	});

	it('an answer that arrives after a newer request is dropped', async () => {
		const resolvers: ((value: DashboardData) => void)[] = [];
		const dashboard = new AnalyticsDashboard(() => new Promise((resolve) => resolvers.push(resolve)));
		const first = dashboard.load('ws', query);
		const second = dashboard.load('ws', query, true);
		resolvers[1]!(data(2));
		await second;
		resolvers[0]!(data(1));
		await first;
		expect(dashboard.data).toEqual(data(2));
	});
});

describe('changesNumbers', () => {
	it('reloads for new metrics and for published deliveries only', () => {
		expect(changesNumbers({ type: 'metrics.updated', id: '1', data: {} })).toBe(true);
		expect(changesNumbers({ type: 'account_stats.updated', id: '2', data: {} })).toBe(true);
		expect(changesNumbers({ type: 'delivery.updated', id: '3', data: { state: 'published' } })).toBe(true);
		expect(changesNumbers({ type: 'delivery.updated', id: '4', data: { state: 'retry_wait' } })).toBe(false);
	});
});
