import { untrack } from 'svelte';
import { api, call } from './api/client';
import { errorMessage } from './api/errors';
import { onLive } from './live.svelte';
import { HEALTH_EVENT_TYPES, type PublishingHealth } from './publishing';

export type HealthFetcher = (workspaceId: string) => Promise<PublishingHealth>;

export function fetchPublishingHealth(workspaceId: string): Promise<PublishingHealth> {
	return call(
		api.GET('/api/v1/workspaces/{workspace_id}/publishing/health', {
			params: { path: { workspace_id: workspaceId } }
		})
	);
}

export interface WatchOptions {
	/** Poll this often (skipped while the tab is hidden; refreshed when it shows again). */
	everyMs: number;
	/** Live event types that trigger a refresh (coalesced over `debounceMs`). */
	liveTypes?: readonly string[];
	debounceMs?: number;
}

/**
 * `GET /publishing/health` for one workspace, kept fresh by polling and live events.
 * The first load shows loading/error states; later refreshes keep the last answer on failure.
 */
export class PublishingHealthMonitor {
	health = $state<PublishingHealth | null>(null);
	status = $state<'loading' | 'error' | 'ready'>('loading');
	error = $state<string | null>(null);
	/** A refresh is under way (the last answer is still shown). */
	refreshing = $state(false);
	/** When the shown answer arrived (ms since epoch). */
	updatedAt = $state<number | null>(null);

	#fetch: HealthFetcher;
	#workspaceId: string | null = null;
	#generation = 0;

	constructor(fetcher: HealthFetcher = fetchPublishingHealth) {
		this.#fetch = fetcher;
	}

	/** Load (or reload) the health of `workspaceId`; `quiet` keeps the current answer while loading. */
	async load(workspaceId: string, quiet = false): Promise<void> {
		const generation = ++this.#generation;
		if (this.#workspaceId !== workspaceId) {
			this.#workspaceId = workspaceId;
			this.health = null;
			quiet = false;
		}
		if (!quiet || this.health === null) {
			this.status = 'loading';
			this.error = null;
		}
		this.refreshing = true;
		try {
			const health = await this.#fetch(workspaceId);
			if (generation !== this.#generation) return;
			this.health = health;
			this.status = 'ready';
			this.error = null;
			this.updatedAt = Date.now();
		} catch (err) {
			if (generation !== this.#generation) return;
			this.error = errorMessage(err);
			if (this.health === null) this.status = 'error';
		} finally {
			if (generation === this.#generation) this.refreshing = false;
		}
	}

	refresh(): Promise<void> {
		return this.#workspaceId ? this.load(this.#workspaceId, true) : Promise.resolve();
	}

	/** Load now, then poll and follow live events until the returned function is called. */
	watch(workspaceId: string, options: WatchOptions): () => void {
		// Untracked: an $effect that calls watch() must not depend on the state load() reads.
		untrack(() => void this.load(workspaceId, this.#workspaceId === workspaceId));
		const hidden = () => typeof document !== 'undefined' && document.visibilityState === 'hidden';
		const timer = setInterval(() => {
			if (!hidden()) void this.load(workspaceId, true);
		}, options.everyMs);
		let debounce: ReturnType<typeof setTimeout> | null = null;
		const soon = () => {
			if (debounce) clearTimeout(debounce);
			debounce = setTimeout(() => {
				debounce = null;
				void this.load(workspaceId, true);
			}, options.debounceMs ?? 500);
		};
		const offLive = onLive(options.liveTypes ?? HEALTH_EVENT_TYPES, soon);
		const onVisible = () => {
			if (!hidden()) soon();
		};
		if (typeof document !== 'undefined') document.addEventListener('visibilitychange', onVisible);
		return () => {
			clearInterval(timer);
			if (debounce) clearTimeout(debounce);
			offLive();
			if (typeof document !== 'undefined') document.removeEventListener('visibilitychange', onVisible);
			this.#generation++; // drop answers still on their way
			this.refreshing = false;
		};
	}
}
