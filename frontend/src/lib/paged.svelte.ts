import { errorMessage } from './api/errors';

export interface Page<T> {
	items: T[];
	next_cursor?: string | null;
}

/** A cursor-paginated list with loading / error / ready states and "load more". */
export class PagedList<T> {
	items = $state<T[]>([]);
	nextCursor = $state<string | null>(null);
	status = $state<'loading' | 'error' | 'ready'>('loading');
	error = $state<string | null>(null);
	loadingMore = $state(false);
	moreError = $state<string | null>(null);

	#fetchPage: (cursor: string | null) => Promise<Page<T>>;
	#generation = 0;

	constructor(fetchPage: (cursor: string | null) => Promise<Page<T>>) {
		this.#fetchPage = fetchPage;
	}

	/** Load the first page again (drops answers to older requests). */
	async reload(): Promise<void> {
		const generation = ++this.#generation;
		this.status = 'loading';
		this.error = null;
		this.moreError = null;
		try {
			const page = await this.#fetchPage(null);
			if (generation !== this.#generation) return;
			this.items = page.items;
			this.nextCursor = page.next_cursor ?? null;
			this.status = 'ready';
		} catch (err) {
			if (generation !== this.#generation) return;
			this.error = errorMessage(err);
			this.status = 'error';
		}
	}

	async more(): Promise<void> {
		if (!this.nextCursor || this.loadingMore) return;
		const generation = this.#generation;
		this.loadingMore = true;
		this.moreError = null;
		try {
			const page = await this.#fetchPage(this.nextCursor);
			if (generation !== this.#generation) return;
			this.items = [...this.items, ...page.items];
			this.nextCursor = page.next_cursor ?? null;
		} catch (err) {
			if (generation === this.#generation) this.moreError = errorMessage(err);
		} finally {
			this.loadingMore = false;
		}
	}

	prepend(item: T): void {
		this.items = [item, ...this.items];
	}

	remove(predicate: (item: T) => boolean): void {
		this.items = this.items.filter((item) => !predicate(item));
	}
}
