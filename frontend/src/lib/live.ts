/**
 * Pure state machine behind the live connection indicator.
 *
 * EventSource reconnects on its own after a dropped stream (readyState CONNECTING,
 * sending Last-Event-ID). It gives up (readyState CLOSED) when the server answers
 * with an error status or a wrong content type; then we retry ourselves with backoff.
 */

export type LiveStatus = 'connecting' | 'live' | 'offline';

export interface LiveState {
	status: LiveStatus;
	/** Has this connection been live at least once? ("Reconnecting…" vs "Connecting…") */
	wasLive: boolean;
	/** Failed attempts in a row, for the backoff. */
	failures: number;
}

export type LiveEvent =
	| { type: 'connect' }
	| { type: 'open' }
	| { type: 'ready' }
	/** `willRetry`: the EventSource is reconnecting by itself (readyState CONNECTING). */
	| { type: 'error'; willRetry: boolean }
	| { type: 'browser-offline' }
	| { type: 'disconnect' };

export const initialLiveState: LiveState = { status: 'offline', wasLive: false, failures: 0 };

export function liveReducer(state: LiveState, event: LiveEvent): LiveState {
	switch (event.type) {
		case 'connect':
			return { ...state, status: 'connecting' };
		case 'open':
		case 'ready':
			return { status: 'live', wasLive: true, failures: 0 };
		case 'error':
			return {
				...state,
				status: event.willRetry ? 'connecting' : 'offline',
				failures: state.failures + 1
			};
		case 'browser-offline':
			return { ...state, status: 'offline' };
		case 'disconnect':
			return initialLiveState;
	}
}

/** Delay before our own retry after the n-th failure in a row: 1s, 2s, 4s … capped. */
export function backoffDelay(failures: number, baseMs = 1000, maxMs = 30_000): number {
	if (failures <= 0) return 0;
	return Math.min(maxMs, baseMs * 2 ** (failures - 1));
}

export function liveLabel(state: LiveState): string {
	if (state.status === 'live') return 'Live';
	if (state.status === 'connecting') return state.wasLive || state.failures > 0 ? 'Reconnecting…' : 'Connecting…';
	return 'Offline';
}

export function eventsUrl(workspaceId: string): string {
	return `/api/v1/workspaces/${encodeURIComponent(workspaceId)}/events`;
}

/** An event's `data` as an object (`{}` when it is not a JSON object). */
export function parseLiveData(raw: string): Record<string, unknown> {
	try {
		const value: unknown = JSON.parse(raw);
		return typeof value === 'object' && value !== null && !Array.isArray(value)
			? (value as Record<string, unknown>)
			: {};
	} catch {
		return {};
	}
}
