import { toApiError } from './api/errors';
import type { PostCheck, PostCreate, TargetCheck } from './composer';

export type CheckFetcher = (body: PostCreate, signal: AbortSignal) => Promise<PostCheck>;

/**
 * The composer's live counters: asks `POST /posts/check` after a quiet moment, cancels
 * the request in flight when the text changes again, and drops answers to older requests.
 */
export class LengthChecker {
	/** The latest answer per account id. */
	results = $state<Record<string, TargetCheck>>({});
	/** A check is waiting or in flight. */
	checking = $state(false);
	error = $state<string | null>(null);

	#fetch: CheckFetcher;
	#delay: number;
	#timer: ReturnType<typeof setTimeout> | null = null;
	#controller: AbortController | null = null;
	#generation = 0;

	constructor(fetch: CheckFetcher, delayMs = 300) {
		this.#fetch = fetch;
		this.#delay = delayMs;
	}

	/** Check `body` soon (replacing any pending or running check). */
	request(body: PostCreate): void {
		this.#stop();
		const generation = ++this.#generation;
		if (!body.targets || body.targets.length === 0) {
			this.results = {};
			this.error = null;
			this.checking = false;
			return;
		}
		this.checking = true;
		this.#timer = setTimeout(() => {
			this.#timer = null;
			void this.#run(body, generation);
		}, this.#delay);
	}

	async #run(body: PostCreate, generation: number): Promise<void> {
		const controller = new AbortController();
		this.#controller = controller;
		try {
			const answer = await this.#fetch(body, controller.signal);
			if (generation !== this.#generation) return;
			this.results = Object.fromEntries(answer.targets.map((t) => [t.account_id, t]));
			this.error = null;
		} catch (err) {
			if (generation !== this.#generation) return;
			const error = toApiError(err);
			if (error.code === 'aborted') return;
			this.error = error.message;
		} finally {
			if (generation === this.#generation) {
				this.checking = false;
				this.#controller = null;
			}
		}
	}

	#stop(): void {
		if (this.#timer) clearTimeout(this.#timer);
		this.#timer = null;
		this.#controller?.abort();
		this.#controller = null;
	}

	/** Stop everything (when the composer goes away). */
	dispose(): void {
		this.#stop();
		this.#generation++;
		this.checking = false;
	}
}

/**
 * A one-time message for the post detail page ("Added to the queue: …"), set by the
 * composer just before it navigates there.
 */
let flash: { postId: string; message: string } | null = null;

export function setPostFlash(postId: string, message: string): void {
	flash = { postId, message };
}

/** The message left for `postId`, once. */
export function takePostFlash(postId: string): string | null {
	if (!flash || flash.postId !== postId) return null;
	const { message } = flash;
	flash = null;
	return message;
}
