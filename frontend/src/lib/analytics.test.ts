import { describe, expect, it } from 'vitest';
import {
	applyMetricsUpdate,
	csvUrl,
	describeDelta,
	formatMetric,
	heatBucket,
	heatLevel,
	heatmapRows,
	parseMetricsUpdate,
	type CurrentNumbers,
	type HeatCell,
	type OverviewMetric
} from './analytics';

function metric(name: string, current: number | null, previous: number | null): OverviewMetric {
	const change = current === null || previous === null ? null : current - previous;
	const percent = change === null || !previous ? null : (change / previous) * 100;
	return { name, current, previous, change, change_percent: percent };
}

describe('describeDelta', () => {
	it('says how much a count rose or fell in percent', () => {
		expect(describeDelta(metric('engagements', 59, 4))).toEqual({ trend: 'up', text: '+1375%' });
		expect(describeDelta(metric('posts', 9, 10))).toEqual({ trend: 'down', text: '−10%' });
		expect(describeDelta(metric('posts', 11, 10))).toEqual({ trend: 'up', text: '+10%' });
	});

	it('uses the difference when the previous period had none, and points for the rate', () => {
		expect(describeDelta(metric('posts', 3, 0))).toEqual({ trend: 'up', text: '+3' });
		expect(describeDelta(metric('engagement_rate', 0.0657, 0.04))).toEqual({ trend: 'up', text: '+2.57 pts' });
		expect(describeDelta(metric('posts', 2, 2))).toEqual({ trend: 'flat', text: 'no change' });
		expect(describeDelta(metric('follower_growth', 5, null))).toEqual({ trend: 'none', text: '' });
	});
});

describe('formatMetric', () => {
	it('writes rates as percentages, growth with a sign, unknowns as a dash', () => {
		expect(formatMetric('engagement_rate', 0.0657)).toBe('6.57%');
		expect(formatMetric('engagement_rate', 0.25)).toBe('25.0%');
		expect(formatMetric('follower_growth', 130)).toBe('+130');
		expect(formatMetric('impressions', null)).toBe('—');
		expect(formatMetric('impressions', 1234)).toBe((1234).toLocaleString());
	});
});

describe('heatmap helpers', () => {
	it('puts cells in weekday rows of 24 hours', () => {
		const cells: HeatCell[] = [];
		for (let weekday = 6; weekday >= 0; weekday--)
			for (let hour = 23; hour >= 0; hour--) cells.push({ weekday, hour, posts: 0, observed: null, score: 1 });
		const rows = heatmapRows(cells);
		expect(rows).toHaveLength(7);
		expect(rows[2]!.map((c) => c.hour)).toEqual(Array.from({ length: 24 }, (_, h) => h));
		expect(rows[2]!.every((c) => c.weekday === 2)).toBe(true);
	});

	it('scales scores between the lowest and highest into five buckets', () => {
		expect(heatLevel(0.5, 0.5, 2.5)).toBe(0);
		expect(heatLevel(2.5, 0.5, 2.5)).toBe(1);
		expect(heatLevel(1.5, 0.5, 2.5)).toBe(0.5);
		expect(heatLevel(1, 1, 1)).toBe(0.5);
		expect([0, 0.19, 0.2, 0.99, 1].map(heatBucket)).toEqual([0, 0, 1, 4, 4]);
	});
});

describe('live metrics', () => {
	const current: CurrentNumbers = {
		impressions: 400,
		likes: 20,
		reposts: 4,
		replies: 2,
		quotes: 1,
		bookmarks: null,
		clicks: 3,
		engagements: 30,
		collected_at: '2026-03-10T12:00:00Z'
	};

	it('reads the collector event and applies it to the counters', () => {
		const update = parseMetricsUpdate({
			delivery_id: 'd1',
			post_id: 'p1',
			collected_at: '2026-03-10T13:00:00Z',
			metrics: { likes: 25, reposts: 5, impressions: 500 }
		});
		expect(update).not.toBeNull();
		const next = applyMetricsUpdate(current, update!);
		expect(next.likes).toBe(25);
		expect(next.impressions).toBe(500);
		expect(next.replies).toBe(2); // not in the event: kept
		expect(next.engagements).toBe(25 + 5 + 2 + 1 + 3);
		expect(next.collected_at).toBe('2026-03-10T13:00:00Z');
	});

	it('ignores events that name no delivery', () => {
		expect(parseMetricsUpdate({ account_id: 'a1', stats: { followers: 3 } })).toBeNull();
	});
});

it('builds CSV download links with the period', () => {
	expect(csvUrl('ws 1', 'top-posts', { period: '7d', timezone: 'Europe/Berlin' })).toBe(
		'/api/v1/workspaces/ws%201/analytics/top-posts?period=7d&timezone=Europe%2FBerlin&format=csv'
	);
});
