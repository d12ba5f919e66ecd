/**
 * Analytics: fetching the dashboard's tables, and the pure helpers behind its cards,
 * charts and heatmap (formatting, deltas, colours, live metric events).
 */
import { api, call } from './api/client';
import type { components } from './api/schema';

type Schemas = components['schemas'];
export type Overview = Schemas['Overview'];
export type OverviewMetric = Schemas['OverviewMetric'];
export type Daily = Schemas['Daily'];
export type AccountTable = Schemas['AccountTable'];
export type NetworkTable = Schemas['NetworkTable'];
export type NetworkRow = Schemas['NetworkRow'];
export type TopPosts = Schemas['TopPosts'];
export type TopPost = Schemas['TopPost'];
export type GroupTable = Schemas['GroupTable'];
export type PostAnalytics = Schemas['PostAnalytics'];
export type DeliveryAnalytics = Schemas['DeliveryAnalytics'];
export type CurrentNumbers = Schemas['CurrentNumbers'];
export type BestTime = Schemas['BestTime'];
export type HeatCell = Schemas['HeatCell'];
export type SlotView = Schemas['SlotView'];

export const PERIODS = [
	{ value: '7d', label: 'Last 7 days' },
	{ value: '30d', label: 'Last 30 days' },
	{ value: '90d', label: 'Last 90 days' },
	{ value: '365d', label: 'Last 12 months' }
] as const;
export type PeriodValue = (typeof PERIODS)[number]['value'];

export type GroupKind = 'label' | 'campaign' | 'hashtag';

/** Live event types after which the dashboard's numbers may have changed. */
export const ANALYTICS_EVENT_TYPES = ['metrics.updated', 'account_stats.updated', 'delivery.updated'] as const;

export interface PeriodQuery {
	period: PeriodValue;
	timezone: string;
}

const BASE = '/api/v1/workspaces';

/**
 * The analytics endpoints also answer CSV (`format=csv`), so the generated types see two media
 * types and cannot name the JSON body; these calls never ask for CSV, the body is the JSON one.
 */
function json<T>(request: Parameters<typeof call>[0]): Promise<T> {
	return call(request) as Promise<T>;
}

/** Where a table downloads as CSV (same origin: the session cookie goes with it). */
export function csvUrl(workspaceId: string, table: string, query: Record<string, string> = {}): string {
	const params = new URLSearchParams({ ...query, format: 'csv' });
	return `${BASE}/${encodeURIComponent(workspaceId)}/analytics/${table}?${params.toString()}`;
}

export function periodParams(query: PeriodQuery): Record<string, string> {
	return { period: query.period, timezone: query.timezone };
}

export function fetchOverview(workspaceId: string, query: PeriodQuery): Promise<Overview> {
	return json<Overview>(
		api.GET('/api/v1/workspaces/{workspace_id}/analytics/overview', {
			params: { path: { workspace_id: workspaceId }, query: periodParams(query) }
		})
	);
}

export function fetchDaily(workspaceId: string, query: PeriodQuery): Promise<Daily> {
	return json<Daily>(
		api.GET('/api/v1/workspaces/{workspace_id}/analytics/daily', {
			params: { path: { workspace_id: workspaceId }, query: periodParams(query) }
		})
	);
}

export function fetchNetworks(workspaceId: string, query: PeriodQuery): Promise<NetworkTable> {
	return json<NetworkTable>(
		api.GET('/api/v1/workspaces/{workspace_id}/analytics/networks', {
			params: { path: { workspace_id: workspaceId }, query: periodParams(query) }
		})
	);
}

export function fetchAccounts(workspaceId: string, query: PeriodQuery): Promise<AccountTable> {
	return json<AccountTable>(
		api.GET('/api/v1/workspaces/{workspace_id}/analytics/accounts', {
			params: { path: { workspace_id: workspaceId }, query: periodParams(query) }
		})
	);
}

export function fetchTopPosts(workspaceId: string, query: PeriodQuery): Promise<TopPosts> {
	return json<TopPosts>(
		api.GET('/api/v1/workspaces/{workspace_id}/analytics/top-posts', {
			params: { path: { workspace_id: workspaceId }, query: { ...periodParams(query), limit: 10 } }
		})
	);
}

export function fetchGroups(workspaceId: string, group: GroupKind, query: PeriodQuery): Promise<GroupTable> {
	return json<GroupTable>(
		api.GET('/api/v1/workspaces/{workspace_id}/analytics/groups/{group}', {
			params: { path: { workspace_id: workspaceId, group }, query: periodParams(query) }
		})
	);
}

export function fetchBestTime(workspaceId: string, timezone: string): Promise<BestTime> {
	return json<BestTime>(
		api.GET('/api/v1/workspaces/{workspace_id}/analytics/best-time', {
			params: { path: { workspace_id: workspaceId }, query: { timezone } }
		})
	);
}

export function fetchPostAnalytics(workspaceId: string, postId: string): Promise<PostAnalytics> {
	return json<PostAnalytics>(
		api.GET('/api/v1/workspaces/{workspace_id}/analytics/posts/{post_id}', {
			params: { path: { workspace_id: workspaceId, post_id: postId } }
		})
	);
}

export const METRIC_LABELS: Record<string, string> = {
	posts: 'Posts',
	deliveries: 'Deliveries',
	impressions: 'Impressions',
	engagements: 'Engagements',
	engagement_rate: 'Engagement rate',
	follower_growth: 'Follower growth'
};

/** The overview cards, in the order people read them. */
export const CARD_METRICS = ['posts', 'impressions', 'engagements', 'engagement_rate', 'follower_growth'] as const;

const compact = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 });
const whole = new Intl.NumberFormat();

/** A count as people read it: 1,234 below 10,000, then 12.3K. */
export function formatCount(value: number | null | undefined): string {
	if (value === null || value === undefined) return '—';
	return Math.abs(value) >= 10_000 ? compact.format(value) : whole.format(value);
}

export function formatRate(value: number | null | undefined): string {
	if (value === null || value === undefined) return '—';
	return `${(value * 100).toFixed(value < 0.1 ? 2 : 1)}%`;
}

export function formatMetric(name: string, value: number | null | undefined): string {
	if (name === 'engagement_rate') return formatRate(value);
	if (name === 'follower_growth' && value !== null && value !== undefined && value > 0) return `+${formatCount(value)}`;
	return formatCount(value);
}

export type Trend = 'up' | 'down' | 'flat' | 'none';

export interface Delta {
	trend: Trend;
	/** "+12% vs previous period", "no change", or "" when there is nothing to compare. */
	text: string;
}

/** How a card's number moved since the previous period. */
export function describeDelta(metric: OverviewMetric): Delta {
	const { change, change_percent: percent, previous } = metric;
	if (change === null || change === undefined) return { trend: 'none', text: '' };
	if (change === 0) return { trend: 'flat', text: 'no change' };
	const trend: Trend = change > 0 ? 'up' : 'down';
	const sign = change > 0 ? '+' : '−';
	if (metric.name === 'engagement_rate') {
		return { trend, text: `${sign}${Math.abs(change * 100).toFixed(2)} pts` };
	}
	if (percent === null || percent === undefined || previous === 0) {
		return { trend, text: `${sign}${formatCount(Math.abs(change))}` };
	}
	return { trend, text: `${sign}${Math.abs(percent).toFixed(percent !== 0 && Math.abs(percent) < 10 ? 1 : 0)}%` };
}

export const WEEKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
export const WEEKDAYS_SHORT = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

export function hourLabel(hour: number): string {
	return `${String(hour).padStart(2, '0')}:00`;
}

/** Cells as rows of 24 hours per weekday (Monday first). */
export function heatmapRows(cells: readonly HeatCell[]): HeatCell[][] {
	const rows: HeatCell[][] = Array.from({ length: 7 }, () => []);
	for (const cell of cells) rows[cell.weekday]?.push(cell);
	for (const row of rows) row.sort((a, b) => a.hour - b.hour);
	return rows;
}

/**
 * 0..1 position of a score between the map's lowest and highest (for the colour scale);
 * 0.5 when every cell is the same.
 */
export function heatLevel(score: number, min: number, max: number): number {
	if (max <= min) return 0.5;
	return Math.min(1, Math.max(0, (score - min) / (max - min)));
}

/** Relative to an ordinary post: "1.8× usual", "0.6× usual". */
export function formatLift(score: number): string {
	return `${score.toFixed(1)}× usual`;
}

/** Five buckets, so the colour scale has a legend and a screen-reader word. */
export function heatBucket(level: number): 0 | 1 | 2 | 3 | 4 {
	return Math.min(4, Math.floor(level * 5)) as 0 | 1 | 2 | 3 | 4;
}

export const HEAT_WORDS = ['lowest', 'low', 'middle', 'high', 'highest'] as const;

/** A live `metrics.updated` payload (published by collection for every new snapshot). */
export interface MetricsUpdate {
	deliveryId: string;
	postId: string | null;
	metrics: Partial<Record<'impressions' | 'likes' | 'reposts' | 'replies' | 'quotes' | 'bookmarks' | 'clicks', number | null>>;
	collectedAt: string | null;
}

const COUNTS = ['impressions', 'likes', 'reposts', 'replies', 'quotes', 'bookmarks', 'clicks'] as const;

export function parseMetricsUpdate(data: Record<string, unknown>): MetricsUpdate | null {
	const deliveryId = data.delivery_id;
	if (typeof deliveryId !== 'string') return null;
	const raw = (data.metrics ?? {}) as Record<string, unknown>;
	const metrics: MetricsUpdate['metrics'] = {};
	for (const name of COUNTS) {
		const value = raw[name];
		if (typeof value === 'number' || value === null) metrics[name] = value;
	}
	return {
		deliveryId,
		postId: typeof data.post_id === 'string' ? data.post_id : null,
		metrics,
		collectedAt: typeof data.collected_at === 'string' ? data.collected_at : null
	};
}

const ENGAGING = ['likes', 'reposts', 'replies', 'quotes', 'bookmarks', 'clicks'] as const;

/** A delivery's current numbers after a live update (counts the update does not carry stay). */
export function applyMetricsUpdate(current: CurrentNumbers, update: MetricsUpdate): CurrentNumbers {
	const next: CurrentNumbers = { ...current, collected_at: update.collectedAt ?? current.collected_at };
	for (const name of COUNTS) {
		if (name in update.metrics) next[name] = update.metrics[name] ?? null;
	}
	next.engagements = ENGAGING.reduce((sum, name) => sum + (next[name] ?? 0), 0);
	return next;
}
