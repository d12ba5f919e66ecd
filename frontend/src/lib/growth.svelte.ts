import { errorMessage } from './api/errors';
import { GROWTH_EVENT_TYPES, loadGrowth, movesProgress, type GrowthData } from './growth';
import { onLive } from './live.svelte';

/** The Growth page's data: loading/error on the first load, quiet live reloads afterwards. */
export class GrowthBoard {
	data = $state<GrowthData | null>(null);
	status = $state<'loading' | 'error' | 'ready'>('loading');
	error = $state<string | null>(null);
	#generation = 0;

	async load(workspaceId: string, timezone: string, quiet = false): Promise<void> {
		const generation = ++this.#generation;
		if (!quiet) {
			this.status = 'loading';
			this.error = null;
		}
		try {
			const data = await loadGrowth(workspaceId, timezone);
			if (generation !== this.#generation) return;
			this.data = data;
			this.status = 'ready';
		} catch (err) {
			if (generation !== this.#generation) return;
			this.error = errorMessage(err);
			if (!quiet || this.data === null) this.status = 'error';
		}
	}

	/** Load now, then reload quietly after events that can move progress. */
	watch(workspaceId: string, timezone: string, debounceMs = 500): () => void {
		void this.load(workspaceId, timezone);
		let timer: ReturnType<typeof setTimeout> | null = null;
		const off = onLive(GROWTH_EVENT_TYPES, (message) => {
			if (!movesProgress(message.type, message.data)) return;
			if (timer) clearTimeout(timer);
			timer = setTimeout(() => {
				timer = null;
				void this.load(workspaceId, timezone, true);
			}, debounceMs);
		});
		return () => {
			off();
			if (timer) clearTimeout(timer);
		};
	}
}
