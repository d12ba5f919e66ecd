import { describe, expect, it } from 'vitest';
import {
	affectsDeliveries,
	attemptKindLabel,
	attemptOutcomeLabel,
	attemptOutcomeTone,
	deliveryStateHint,
	deliveryStateLabel,
	deliveryStateTone,
	deliverySummary,
	formatAgo,
	formatAttemptDuration,
	formatAttemptTime,
	formatHttpStatus,
	formatLateness,
	formatRelative,
	formatSpan,
	isDeliveryPending,
	latenessTone,
	showsDeliveries,
	sortAttempts,
	sortWorkers,
	type Attempt,
	type DeliveryState,
	type Worker
} from './publishing';

const NOW = Date.parse('2026-03-10T12:00:00Z');
const ago = (seconds: number) => new Date(NOW - seconds * 1000).toISOString();

describe('delivery states', () => {
	const all: DeliveryState[] = ['scheduled', 'claimed', 'published', 'retry_wait', 'unknown', 'failed', 'cancelled', 'missed'];

	it('labels every state', () => {
		expect(all.map(deliveryStateLabel)).toEqual([
			'Scheduled',
			'Sending',
			'Published',
			'Retrying',
			'Unconfirmed',
			'Failed',
			'Cancelled',
			'Missed'
		]);
	});

	it('gives every state a tone', () => {
		expect(Object.fromEntries(all.map((s) => [s, deliveryStateTone(s)]))).toEqual({
			scheduled: 'accent',
			claimed: 'warning',
			published: 'success',
			retry_wait: 'warning',
			unknown: 'warning',
			failed: 'danger',
			cancelled: 'neutral',
			missed: 'danger'
		});
	});

	it('explains every state', () => {
		for (const s of all) expect(deliveryStateHint(s)).not.toBe('');
		expect(deliveryStateHint('missed')).toMatch(/not sent in time/);
	});

	it('falls back for states it does not know', () => {
		expect(deliveryStateLabel('on_hold')).toBe('On hold');
		expect(deliveryStateTone('on_hold')).toBe('neutral');
		expect(deliveryStateHint('on_hold')).toBe('');
		expect(deliveryStateLabel('toString')).toBe('ToString');
		expect(deliveryStateTone('constructor')).toBe('neutral');
	});

	it('knows which states are still on their way', () => {
		expect(all.filter(isDeliveryPending)).toEqual(['scheduled', 'claimed', 'retry_wait', 'unknown']);
	});

	it('summarises a post’s deliveries', () => {
		expect(deliverySummary([{ state: 'published' }, { state: 'failed' }, { state: 'published' }])).toBe('2 published · 1 failed');
		expect(deliverySummary([])).toBe('');
	});
});

describe('attempts', () => {
	it('labels outcomes and kinds with tones', () => {
		expect(attemptOutcomeLabel('rate_limited')).toBe('Rate limited');
		expect(attemptOutcomeLabel('auth_error')).toBe('Access lost');
		expect(attemptOutcomeLabel('reconciled_found')).toBe('Found on the network');
		expect(attemptOutcomeLabel('something_new')).toBe('Something new');
		expect(attemptOutcomeTone('published')).toBe('success');
		expect(attemptOutcomeTone('permanent_error')).toBe('danger');
		expect(attemptOutcomeTone('transient_error')).toBe('warning');
		expect(attemptOutcomeTone('something_new')).toBe('neutral');
		expect(attemptKindLabel('publish')).toBe('Publish');
		expect(attemptKindLabel('reconcile')).toBe('Check');
	});

	it('formats durations and HTTP statuses', () => {
		expect(formatAttemptDuration('2026-03-10T12:00:00.000Z', '2026-03-10T12:00:00.420Z')).toBe('0.4 s');
		expect(formatAttemptDuration('2026-03-10T12:00:00Z', '2026-03-10T12:00:30Z')).toBe('30 s');
		expect(formatAttemptDuration('2026-03-10T12:00:00Z', '2026-03-10T12:02:00Z')).toBe('2 min');
		expect(formatAttemptDuration('2026-03-10T12:00:00Z', null)).toBe('—');
		expect(formatHttpStatus(429)).toBe('HTTP 429');
		expect(formatHttpStatus(null)).toBe('—');
	});

	it('formats attempt times with seconds, with the date only on other days', () => {
		const now = new Date('2026-03-10T15:00:00Z');
		expect(formatAttemptTime('2026-03-10T14:03:27Z', now, 'en-GB', 'UTC')).toBe('14:03:27');
		expect(formatAttemptTime('2026-03-08T14:03:27Z', now, 'en-GB', 'UTC')).toBe('8 Mar, 14:03:27');
		expect(formatAttemptTime(null, now)).toBe('—');
	});

	it('lists attempts newest first', () => {
		const attempt = (number: number): Attempt => ({
			number,
			kind: 'publish',
			worker: 'w',
			outcome: 'transient_error',
			http_status: 503,
			error: null,
			started_at: ago(100 - number),
			finished_at: null
		});
		expect(sortAttempts([attempt(1), attempt(3), attempt(2)]).map((a) => a.number)).toEqual([3, 2, 1]);
	});
});

describe('formatAgo', () => {
	it('counts seconds, minutes, hours and days', () => {
		expect(formatAgo(ago(0), NOW)).toBe('just now');
		expect(formatAgo(ago(12), NOW)).toBe('12 s ago');
		expect(formatAgo(ago(59), NOW)).toBe('59 s ago');
		expect(formatAgo(ago(60), NOW)).toBe('1 min ago');
		expect(formatAgo(ago(3599), NOW)).toBe('59 min ago');
		expect(formatAgo(ago(7200), NOW)).toBe('2 h ago');
		expect(formatAgo(ago(3 * 86400 + 10), NOW)).toBe('3 d ago');
	});

	it('accepts dates and epoch milliseconds', () => {
		expect(formatAgo(new Date(NOW - 5000), new Date(NOW))).toBe('5 s ago');
		expect(formatAgo(NOW - 30_000, NOW)).toBe('30 s ago');
	});

	it('treats a clock slightly ahead as just now, and no time as a dash', () => {
		expect(formatAgo(new Date(NOW + 2000).toISOString(), NOW)).toBe('just now');
		expect(formatAgo(null, NOW)).toBe('—');
		expect(formatAgo('not a date', NOW)).toBe('—');
	});
});

describe('formatRelative', () => {
	it('says when something is in the future or past', () => {
		expect(formatRelative(new Date(NOW + 5 * 60_000).toISOString(), NOW)).toBe('in 5 min');
		expect(formatRelative(ago(90), NOW)).toBe('1 min ago');
		expect(formatRelative(ago(2), NOW)).toBe('now');
		expect(formatRelative(undefined, NOW)).toBe('—');
	});
});

describe('lateness', () => {
	it('formats spans with their two largest units', () => {
		expect(formatSpan(0)).toBe('0 s');
		expect(formatSpan(45.8)).toBe('45 s');
		expect(formatSpan(12 * 60 + 5)).toBe('12 min');
		expect(formatSpan(3600)).toBe('1 h');
		expect(formatSpan(2 * 3600 + 5 * 60)).toBe('2 h 5 min');
		expect(formatSpan(86400)).toBe('1 d');
		expect(formatSpan(3 * 86400 + 4 * 3600 + 59)).toBe('3 d 4 h');
		expect(formatSpan(-5)).toBe('0 s');
	});

	it('says how late the oldest waiting delivery is', () => {
		expect(formatLateness(null)).toBe('on time');
		expect(formatLateness(undefined)).toBe('on time');
		expect(formatLateness(0.4)).toBe('on time');
		expect(formatLateness(45)).toBe('45 s late');
		expect(formatLateness(754.2)).toBe('12 min late');
		expect(formatLateness(7500)).toBe('2 h 5 min late');
		expect(formatLateness(Number.NaN)).toBe('on time');
	});

	it('colours lateness by how bad it is', () => {
		expect(latenessTone(null)).toBe('success');
		expect(latenessTone(30)).toBe('success');
		expect(latenessTone(60)).toBe('warning');
		expect(latenessTone(14 * 60)).toBe('warning');
		expect(latenessTone(15 * 60)).toBe('danger');
	});
});

describe('workers', () => {
	const worker = (id: string, alive: boolean, seenSecondsAgo: number): Worker => ({
		worker: id,
		hostname: 'h',
		pid: 1,
		started_at: ago(3600),
		seen_at: ago(seenSecondsAgo),
		in_flight: 0,
		alive
	});

	it('lists alive workers first, then the most recently seen', () => {
		const sorted = sortWorkers([worker('dead-old', false, 900), worker('alive-b', true, 8), worker('dead-new', false, 60), worker('alive-a', true, 2)]);
		expect(sorted.map((w) => w.worker)).toEqual(['alive-a', 'alive-b', 'dead-new', 'dead-old']);
	});
});

describe('live events', () => {
	it('refreshes deliveries for events naming the post or one of its accounts', () => {
		expect(affectsDeliveries('delivery.updated', { post_id: 'p1', state: 'published' }, 'p1')).toBe(true);
		expect(affectsDeliveries('delivery.updated', { post_id: 'p2' }, 'p1')).toBe(false);
		expect(affectsDeliveries('post.failed', { post_id: 'p1', status: 'failed' }, 'p1')).toBe(true);
		expect(affectsDeliveries('account.needs_reconnect', { id: 'a1' }, 'p1', ['a1', 'a2'])).toBe(true);
		expect(affectsDeliveries('account.needs_reconnect', { id: 'a9' }, 'p1', ['a1'])).toBe(false);
		expect(affectsDeliveries('account.needs_reconnect', {}, 'p1', ['a1'])).toBe(false);
	});

	it('shows the Delivery section once a post was scheduled', () => {
		expect(showsDeliveries('draft', 0)).toBe(false);
		expect(showsDeliveries('approved', 0)).toBe(false);
		expect(showsDeliveries('draft', 2)).toBe(true);
		expect(showsDeliveries('scheduled', 0)).toBe(true);
		expect(showsDeliveries('failed', 1)).toBe(true);
	});
});
