import { errorMessage } from './api/errors';
import {
	ANALYTICS_EVENT_TYPES,
	fetchBestTime,
	fetchDaily,
	fetchGroups,
	fetchNetworks,
	fetchOverview,
	fetchTopPosts,
	type BestTime,
	type Daily,
	type GroupKind,
	type GroupTable,
	type NetworkTable,
	type Overview,
	type PeriodQuery,
	type TopPosts
} from './analytics';
import { onLive, type LiveMessage } from './live.svelte';

export interface DashboardData {
	overview: Overview;
	daily: Daily;
	networks: NetworkTable;
	top: TopPosts;
	groups: Record<GroupKind, GroupTable>;
	bestTime: BestTime;
}

export type DashboardLoader = (workspaceId: string, query: PeriodQuery) => Promise<DashboardData>;

export async function loadDashboard(workspaceId: string, query: PeriodQuery): Promise<DashboardData> {
	const [overview, daily, networks, top, label, campaign, hashtag, bestTime] = await Promise.all([
		fetchOverview(workspaceId, query),
		fetchDaily(workspaceId, query),
		fetchNetworks(workspaceId, query),
		fetchTopPosts(workspaceId, query),
		fetchGroups(workspaceId, 'label', query),
		fetchGroups(workspaceId, 'campaign', query),
		fetchGroups(workspaceId, 'hashtag', query),
		fetchBestTime(workspaceId, query.timezone)
	]);
	return { overview, daily, networks, top, groups: { label, campaign, hashtag }, bestTime };
}

/** Whether a live event can change the dashboard's numbers. */
export function changesNumbers(message: LiveMessage): boolean {
	if (message.type === 'delivery.updated') return message.data.state === 'published';
	return (ANALYTICS_EVENT_TYPES as readonly string[]).includes(message.type);
}

/**
 * The analytics dashboard of one workspace and period. The first load shows loading/error
 * states; live updates reload quietly (coalesced) and keep the last answer on failure.
 */
export class AnalyticsDashboard {
	data = $state<DashboardData | null>(null);
	status = $state<'loading' | 'error' | 'ready'>('loading');
	error = $state<string | null>(null);
	refreshing = $state(false);

	#load: DashboardLoader;
	#key = '';
	#generation = 0;

	constructor(loader: DashboardLoader = loadDashboard) {
		this.#load = loader;
	}

	async load(workspaceId: string, query: PeriodQuery, quiet = false): Promise<void> {
		const key = `${workspaceId}|${query.period}|${query.timezone}`;
		const generation = ++this.#generation;
		if (key !== this.#key) {
			this.#key = key;
			quiet = false; // another workspace or period: the numbers shown are not its numbers
		}
		if (!quiet) {
			this.status = 'loading';
			this.error = null;
		}
		this.refreshing = true;
		try {
			const data = await this.#load(workspaceId, query);
			if (generation !== this.#generation) return;
			this.data = data;
			this.status = 'ready';
			this.error = null;
		} catch (err) {
			if (generation !== this.#generation) return;
			this.error = errorMessage(err);
			if (!quiet || this.data === null) this.status = 'error';
		} finally {
			if (generation === this.#generation) this.refreshing = false;
		}
	}

	/** Load now and reload quietly after live events that change numbers, until the returned
	 * function is called. */
	watch(workspaceId: string, query: PeriodQuery, debounceMs = 750): () => void {
		void this.load(workspaceId, query, this.data !== null);
		let timer: ReturnType<typeof setTimeout> | null = null;
		const off = onLive(ANALYTICS_EVENT_TYPES, (message) => {
			if (!changesNumbers(message)) return;
			if (timer) clearTimeout(timer);
			timer = setTimeout(() => {
				timer = null;
				void this.load(workspaceId, query, true);
			}, debounceMs);
		});
		return () => {
			off();
			if (timer) clearTimeout(timer);
		};
	}
}
