import { errorMessage } from './api/errors';
import type { components } from './api/schema';
import type { CalendarPost, CalendarQuery, Move } from './calendar';

type CalendarPage = components['schemas']['CalendarPage'];
type Scheduled = components['schemas']['Scheduled'];

export type FetchCalendar = (query: CalendarQuery) => Promise<CalendarPage>;
export type SchedulePost = (postId: string, at: string) => Promise<Scheduled>;

/**
 * The posts of one calendar range, with quiet refetches (live updates) and optimistic
 * moves that roll back when the API says no.
 */
export class CalendarPosts {
	posts = $state<CalendarPost[]>([]);
	status = $state<'loading' | 'error' | 'ready'>('loading');
	error = $state<string | null>(null);
	truncated = $state(false);
	/** A refetch in the background (the current posts stay visible). */
	refreshing = $state(false);
	/** Ids of posts whose move is waiting for the API. */
	moving = $state<string[]>([]);

	#fetch: FetchCalendar;
	#query: CalendarQuery | null = null;
	#generation = 0;
	/** Moves in flight: a refetch that answers meanwhile must not undo them on screen. */
	#pending = new Map<string, string>();

	constructor(fetch: FetchCalendar) {
		this.#fetch = fetch;
	}

	/** Load a range; `quiet` keeps the current posts on screen while it loads. */
	async load(query: CalendarQuery, { quiet = false }: { quiet?: boolean } = {}): Promise<void> {
		const generation = ++this.#generation;
		this.#query = query;
		if (quiet && this.status === 'ready') {
			this.refreshing = true;
		} else {
			this.status = 'loading';
			this.error = null;
		}
		try {
			const page = await this.#fetch(query);
			if (generation !== this.#generation) return;
			this.posts = page.items.map((post) => {
				const at = this.#pending.get(post.id);
				return at === undefined ? post : { ...post, scheduled_at: at };
			});
			this.truncated = page.truncated;
			this.status = 'ready';
			this.error = null;
		} catch (err) {
			if (generation !== this.#generation) return;
			if (quiet && this.status === 'ready') return; // keep what we have; the next event retries
			this.error = errorMessage(err);
			this.status = 'error';
		} finally {
			if (generation === this.#generation) this.refreshing = false;
		}
	}

	/** Load the last range again. */
	async refresh(): Promise<void> {
		if (this.#query) await this.load(this.#query, { quiet: true });
	}

	/**
	 * Show the post at its new time at once, then ask the API; on failure put it back.
	 * Returns the post as the API now has it, or throws the API's error.
	 */
	async move(postId: string, move: Move, schedule: SchedulePost): Promise<CalendarPost> {
		const before = this.posts.find((p) => p.id === postId);
		if (!before) throw new Error('That post is no longer in this view.');
		const optimistic = new Date(move.instant).toISOString();
		this.#pending.set(postId, optimistic);
		this.moving = [...this.moving, postId];
		this.#replace(postId, { ...before, scheduled_at: optimistic });
		try {
			const result = await schedule(postId, move.at);
			this.#pending.delete(postId);
			this.#replace(postId, { ...result.post, scheduled_at: result.scheduled_at });
			return result.post;
		} catch (err) {
			this.#pending.delete(postId);
			this.#replace(postId, before);
			throw err;
		} finally {
			this.moving = this.moving.filter((id) => id !== postId);
		}
	}

	#replace(postId: string, post: CalendarPost): void {
		this.posts = this.posts.map((p) => (p.id === postId ? post : p));
	}
}
