import { describe, expect, it } from 'vitest';
import { makePost } from './calendar-fixtures';
import {
	anchorFor,
	calendarSearch,
	daysOf,
	firstWords,
	groupByDay,
	monthGrid,
	moveToDay,
	NO_FILTERS,
	parseCalendarUrl,
	rangeQuery,
	shiftAnchor,
	visibleRange,
	weekDays,
	type CalendarPost
} from './calendar';

function post(id: string, scheduled_at: string | null, status: CalendarPost['status'] = 'scheduled'): CalendarPost {
	return makePost(id, scheduled_at, { status, text: 'hello' });
}

describe('month grid', () => {
	it('covers the month in Monday-first weeks', () => {
		const grid = monthGrid('2026-12-17');
		expect(grid.month).toBe('2026-12-01');
		expect(grid.weeks).toHaveLength(5);
		expect(grid.weeks[0]![0]).toBe('2026-11-30');
		expect(grid.weeks[4]![6]).toBe('2027-01-03');
		for (const week of grid.weeks) expect(week).toHaveLength(7);
	});
	it('has four rows for a February that starts on Monday and six when needed', () => {
		expect(monthGrid('2027-02-10').weeks).toHaveLength(4); // 2027-02-01 is a Monday
		expect(monthGrid('2026-08-01').weeks).toHaveLength(6); // starts Saturday, 31 days
	});
	it('spans DST changes with 42 contiguous days and zone-correct instants', () => {
		const range = visibleRange('month', '2026-03-01', 'Europe/Berlin');
		expect(range.firstDay).toBe('2026-02-23');
		expect(range.endDay).toBe('2026-04-06');
		expect(daysOf(range)).toHaveLength(42);
		expect(new Date(range.start).toISOString()).toBe('2026-02-22T23:00:00.000Z'); // CET
		expect(new Date(range.end).toISOString()).toBe('2026-04-05T22:00:00.000Z'); // CEST
	});
	it('a week across the fall-back change is 169 hours long', () => {
		const range = visibleRange('week', '2026-10-28', 'Europe/Berlin');
		expect(range.firstDay).toBe('2026-10-26');
		expect(weekDays('2026-10-25')[0]).toBe('2026-10-19');
		const week = visibleRange('week', '2026-10-21', 'Europe/Berlin');
		expect((week.end - week.start) / 3600_000).toBe(169);
	});
	it('anchors and pages', () => {
		expect(anchorFor('month', '2026-12-17')).toBe('2026-12-01');
		expect(anchorFor('list', '2026-12-17')).toBe('2026-12-01');
		expect(anchorFor('week', '2026-12-17')).toBe('2026-12-14');
		expect(shiftAnchor('month', '2026-12-01', 1)).toBe('2027-01-01');
		expect(shiftAnchor('week', '2026-12-28', 1)).toBe('2027-01-04');
		expect(shiftAnchor('list', '2026-01-01', -1)).toBe('2025-12-01');
	});
});

describe('range query', () => {
	it('writes instants with offsets and only the set filters', () => {
		const range = visibleRange('month', '2026-12-01', 'Europe/Berlin');
		expect(rangeQuery(range, 'Europe/Berlin')).toEqual({
			start: '2026-11-30T00:00:00+01:00',
			end: '2027-01-04T00:00:00+01:00'
		});
		const q = rangeQuery(range, 'Europe/Berlin', {
			...NO_FILTERS,
			accounts: ['a1'],
			statuses: ['scheduled', 'failed'],
			labels: ['launch']
		});
		expect(q.account_id).toEqual(['a1']);
		expect(q.status).toEqual(['scheduled', 'failed']);
		expect(q.label).toEqual(['launch']);
		expect(q.network).toBeUndefined();
	});
	it('uses the offset of each end in its own season', () => {
		const range = visibleRange('list', '2026-03-01', 'America/New_York');
		const q = rangeQuery(range, 'America/New_York');
		expect(q.start).toBe('2026-03-01T00:00:00-05:00');
		expect(q.end).toBe('2026-04-01T00:00:00-04:00');
	});
	it('refuses more than 62 days', () => {
		expect(() =>
			rangeQuery({ firstDay: '2026-01-01', endDay: '2026-03-05', start: 0, end: 1 }, 'UTC')
		).toThrow(RangeError);
	});
});

describe('URL state', () => {
	it('round-trips view, date and filters', () => {
		const state = parseCalendarUrl(
			new URLSearchParams('view=week&date=2026-12-03&account=a&account=b&network=sandbox&network=nope&status=failed&label=x'),
			'2026-11-21'
		);
		expect(state.view).toBe('week');
		expect(state.date).toBe('2026-11-30');
		expect(state.filters).toEqual({ accounts: ['a', 'b'], networks: ['sandbox'], statuses: ['failed'], labels: ['x'] });
		expect(calendarSearch(state)).toBe(
			'?view=week&date=2026-11-30&account=a&account=b&network=sandbox&status=failed&label=x'
		);
	});
	it('falls back to the month of today', () => {
		const state = parseCalendarUrl(new URLSearchParams('view=year&date=2026-13-01'), '2026-11-21');
		expect(state).toEqual({ view: 'month', date: '2026-11-01', filters: NO_FILTERS });
	});
});

describe('moving posts', () => {
	it('keeps the local time of day when moving to another day', () => {
		const move = moveToDay('2026-12-03T09:00:00Z', '2026-12-10', 'Europe/Berlin');
		expect(move).toEqual({ at: '2026-12-10T10:00:00', instant: Date.parse('2026-12-10T09:00:00Z') });
	});
	it('keeps the wall time across a DST change (the UTC time shifts)', () => {
		const move = moveToDay('2026-10-20T07:30:00Z', '2026-10-27', 'Europe/Berlin'); // 09:30 CEST
		expect(move?.at).toBe('2026-10-27T09:30:00');
		expect(new Date(move!.instant).toISOString()).toBe('2026-10-27T08:30:00.000Z'); // 09:30 CET
	});
	it('moves to the day as seen in the zone, not in UTC', () => {
		// 23:30 UTC on Dec 1st is Dec 2nd 00:30 in Berlin.
		const move = moveToDay('2026-12-01T23:30:00Z', '2026-12-05', 'Europe/Berlin');
		expect(move?.at).toBe('2026-12-05T00:30:00');
	});
	it('takes a new hour in the week view and keeps the minutes', () => {
		const move = moveToDay('2026-12-03T09:15:00Z', '2026-12-04', 'Europe/Berlin', { hour: 14 });
		expect(move?.at).toBe('2026-12-04T14:15:00');
		expect(moveToDay('2026-12-03T09:15:00Z', '2026-12-03', 'Europe/Berlin', { hour: 16 })?.at).toBe('2026-12-03T16:15:00');
	});
	it('takes an exact time from the "Move to…" form', () => {
		const move = moveToDay('2026-12-03T09:15:30Z', '2026-12-24', 'America/New_York', { hour: 8, minute: 0 });
		expect(move?.at).toBe('2026-12-24T08:00:00');
		expect(new Date(move!.instant).toISOString()).toBe('2026-12-24T13:00:00.000Z');
	});
	it('applies the gap rule to a time that does not exist on the new day', () => {
		const move = moveToDay('2026-03-22T01:30:00Z', '2026-03-29', 'Europe/Berlin'); // 02:30 CET
		expect(move?.at).toBe('2026-03-29T02:30:00');
		expect(new Date(move!.instant).toISOString()).toBe('2026-03-29T01:30:00.000Z');
	});
	it('is null when nothing changes or there is no time', () => {
		expect(moveToDay('2026-12-03T09:00:00Z', '2026-12-03', 'Europe/Berlin')).toBeNull();
		expect(moveToDay('2026-12-03T09:00:00Z', '2026-12-03', 'Europe/Berlin', { hour: 10 })).toBeNull();
		expect(moveToDay(null, '2026-12-03', 'Europe/Berlin')).toBeNull();
		expect(moveToDay('2026-12-03T09:00:00Z', 'soon', 'Europe/Berlin')).toBeNull();
	});
});

describe('posts by day', () => {
	it('groups in the zone, in time order, skipping posts without a time', () => {
		const days = groupByDay(
			[
				post('b', '2026-12-02T10:00:00Z'),
				post('a', '2026-12-01T23:30:00Z'),
				post('c', '2026-12-01T08:00:00Z'),
				post('d', null)
			],
			'Europe/Berlin'
		);
		expect([...days.keys()]).toEqual(['2026-12-01', '2026-12-02']);
		expect(days.get('2026-12-02')!.map((p) => p.id)).toEqual(['a', 'b']);
	});
	it('shortens text on a word boundary', () => {
		expect(firstWords('Hello   world')).toBe('Hello world');
		expect(firstWords('one two three four five six seven eight nine ten', 20)).toBe('one two three four…');
		expect(firstWords('  ')).toBe('(no text)');
	});
});
