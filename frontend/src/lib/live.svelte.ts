import { untrack } from 'svelte';
import {
	backoffDelay,
	eventsUrl,
	initialLiveState,
	liveLabel,
	liveReducer,
	parseLiveData,
	type LiveEvent,
	type LiveState,
	type LiveStatus
} from './live';

export type LiveHandler = (event: MessageEvent<string>) => void;

/** A live event as pages see it: its type, id and parsed JSON data. */
export interface LiveMessage {
	type: string;
	id: string;
	data: Record<string, unknown>;
}

/** The newest connection (the app shell's); pages listen to it through `onLive`. */
let shared: LiveConnection | null = null;

/**
 * Listen for some event types on the app shell's live connection, e.g. from a page's
 * `$effect`/`onMount`; returns the unsubscribe function. A no-op before the shell connects.
 */
export function onLive(types: readonly string[], handler: (message: LiveMessage) => void): () => void {
	const connection = shared;
	if (!connection) return () => {};
	const offs = types.map((type) =>
		connection.on(type, (event) => handler({ type, id: event.lastEventId, data: parseLiveData(event.data) }))
	);
	return () => {
		for (const off of offs) off();
	};
}

/**
 * One Server-Sent Events stream per workspace. The browser's EventSource reconnects
 * by itself (sending Last-Event-ID); when it gives up we retry with backoff.
 */
export class LiveConnection {
	state = $state<LiveState>(initialLiveState);
	status: LiveStatus = $derived(this.state.status);
	label: string = $derived(liveLabel(this.state));

	#source: EventSource | null = null;
	#workspaceId: string | null = null;
	#retryTimer: ReturnType<typeof setTimeout> | null = null;
	#handlers = new Map<string, Set<LiveHandler>>();
	#listening = false;

	constructor() {
		shared = this;
	}

	#dispatch(event: LiveEvent): void {
		// Untracked so an $effect that calls connect() does not depend on the state it changes.
		this.state = liveReducer(
			untrack(() => this.state),
			event
		);
	}

	#onOnline = (): void => {
		if (this.#workspaceId && this.state.status !== 'live') this.#open();
	};

	#onOffline = (): void => {
		this.#closeSource();
		this.#dispatch({ type: 'browser-offline' });
	};

	/** Connect to a workspace's stream (closing any previous one). */
	connect(workspaceId: string): void {
		if (typeof window === 'undefined' || typeof EventSource === 'undefined') return;
		if (this.#workspaceId === workspaceId && this.#source) return;
		this.disconnect();
		this.#workspaceId = workspaceId;
		if (!this.#listening) {
			window.addEventListener('online', this.#onOnline);
			window.addEventListener('offline', this.#onOffline);
			this.#listening = true;
		}
		this.#open();
	}

	disconnect(): void {
		this.#closeSource();
		this.#workspaceId = null;
		if (this.#listening) {
			window.removeEventListener('online', this.#onOnline);
			window.removeEventListener('offline', this.#onOffline);
			this.#listening = false;
		}
		this.#dispatch({ type: 'disconnect' });
	}

	/** Listen for one event type (e.g. `post.published`); returns an unsubscribe function. */
	on(type: string, handler: LiveHandler): () => void {
		let set = this.#handlers.get(type);
		if (!set) {
			set = new Set();
			this.#handlers.set(type, set);
			this.#source?.addEventListener(type, this.#relay);
		}
		set.add(handler);
		return () => {
			set.delete(handler);
		};
	}

	#relay = (event: Event): void => {
		const handlers = this.#handlers.get(event.type);
		if (!handlers) return;
		for (const handler of handlers) handler(event as MessageEvent<string>);
	};

	#open(): void {
		const workspaceId = this.#workspaceId;
		if (!workspaceId) return;
		this.#closeSource();
		this.#dispatch({ type: 'connect' });
		const source = new EventSource(eventsUrl(workspaceId));
		this.#source = source;
		source.addEventListener('open', () => this.#dispatch({ type: 'open' }));
		source.addEventListener('ready', () => this.#dispatch({ type: 'ready' }));
		for (const type of this.#handlers.keys()) source.addEventListener(type, this.#relay);
		source.addEventListener('error', () => {
			if (this.#source !== source) return;
			const willRetry = source.readyState === EventSource.CONNECTING;
			this.#dispatch({ type: 'error', willRetry });
			if (!willRetry) {
				source.close();
				this.#source = null;
				this.#scheduleRetry();
			}
		});
	}

	#scheduleRetry(): void {
		if (this.#retryTimer) clearTimeout(this.#retryTimer);
		if (typeof navigator !== 'undefined' && navigator.onLine === false) return; // wait for 'online'
		this.#retryTimer = setTimeout(() => {
			this.#retryTimer = null;
			this.#open();
		}, backoffDelay(this.state.failures));
	}

	#closeSource(): void {
		if (this.#retryTimer) {
			clearTimeout(this.#retryTimer);
			this.#retryTimer = null;
		}
		this.#source?.close();
		this.#source = null;
	}
}
