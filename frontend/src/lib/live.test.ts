import { describe, expect, it } from 'vitest';
import { backoffDelay, eventsUrl, initialLiveState, liveLabel, liveReducer, type LiveEvent } from './live';

function run(...events: LiveEvent[]) {
	return events.reduce(liveReducer, initialLiveState);
}

describe('live state machine', () => {
	it('starts offline and connects', () => {
		expect(initialLiveState.status).toBe('offline');
		const s = run({ type: 'connect' });
		expect(s.status).toBe('connecting');
		expect(liveLabel(s)).toBe('Connecting…');
	});

	it('is live after open or ready', () => {
		expect(run({ type: 'connect' }, { type: 'open' }).status).toBe('live');
		const s = run({ type: 'connect' }, { type: 'ready' });
		expect(s.status).toBe('live');
		expect(liveLabel(s)).toBe('Live');
	});

	it('shows reconnecting when the browser retries by itself', () => {
		const s = run({ type: 'connect' }, { type: 'ready' }, { type: 'error', willRetry: true });
		expect(s.status).toBe('connecting');
		expect(liveLabel(s)).toBe('Reconnecting…');
	});

	it('goes offline when the stream is closed and counts failures for backoff', () => {
		const s = run(
			{ type: 'connect' },
			{ type: 'error', willRetry: false },
			{ type: 'connect' },
			{ type: 'error', willRetry: false }
		);
		expect(s.status).toBe('offline');
		expect(liveLabel(s)).toBe('Offline');
		expect(s.failures).toBe(2);
		const again = liveReducer(s, { type: 'connect' });
		expect(liveLabel(again)).toBe('Reconnecting…');
		expect(liveReducer(again, { type: 'ready' }).failures).toBe(0);
	});

	it('goes offline with the browser and resets on disconnect', () => {
		const live = run({ type: 'connect' }, { type: 'ready' });
		expect(liveReducer(live, { type: 'browser-offline' }).status).toBe('offline');
		expect(liveReducer(live, { type: 'disconnect' })).toEqual(initialLiveState);
	});
});

describe('backoffDelay', () => {
	it('doubles and caps', () => {
		expect([0, 1, 2, 3, 4].map((n) => backoffDelay(n))).toEqual([0, 1000, 2000, 4000, 8000]);
		expect(backoffDelay(20)).toBe(30_000);
	});
});

describe('eventsUrl', () => {
	it('encodes the workspace id', () => {
		expect(eventsUrl('ws_1')).toBe('/api/v1/workspaces/ws_1/events');
		expect(eventsUrl('a/b')).toBe('/api/v1/workspaces/a%2Fb/events');
	});
});

describe('parseLiveData', () => {
	it('parses a JSON object and ignores anything else', async () => {
		const { parseLiveData } = await import('./live');
		expect(parseLiveData('{"post_id":"p1","status":"scheduled"}')).toEqual({ post_id: 'p1', status: 'scheduled' });
		expect(parseLiveData('[1]')).toEqual({});
		expect(parseLiveData('not json')).toEqual({});
		expect(parseLiveData('null')).toEqual({});
	});
});
