import { describe, expect, it } from 'vitest';
import { makePost } from './calendar-fixtures';
import {
	addSlot,
	copyMondayToWeekdays,
	fillSlots,
	normalizeSlots,
	normalizeTime,
	removeSlot,
	sameSlots,
	slotInstants,
	timesOf,
	wallHm
} from './slots';
import type { CalendarPost } from './calendar';

const utc = (iso: string) => Date.parse(iso);

const post = (id: string, scheduled_at: string): CalendarPost => makePost(id, scheduled_at);

describe('slot editing', () => {
	it('normalises times', () => {
		expect(normalizeTime('9:05')).toBe('09:05');
		expect(normalizeTime(' 23:59 ')).toBe('23:59');
		expect(normalizeTime('24:00')).toBeNull();
		expect(normalizeTime('12:60')).toBeNull();
		expect(normalizeTime('noon')).toBeNull();
	});
	it('adds sorted without duplicates and removes', () => {
		let slots = addSlot([], 2, '15:00');
		slots = addSlot(slots, 0, '9:00');
		slots = addSlot(slots, 0, '09:00');
		slots = addSlot(slots, 0, '08:30');
		expect(slots).toEqual([
			{ weekday: 0, time: '08:30' },
			{ weekday: 0, time: '09:00' },
			{ weekday: 2, time: '15:00' }
		]);
		expect(removeSlot(slots, 0, '9:00')).toEqual([
			{ weekday: 0, time: '08:30' },
			{ weekday: 2, time: '15:00' }
		]);
		expect(timesOf(slots, 0)).toEqual(['08:30', '09:00']);
		expect(normalizeSlots([{ weekday: 7, time: '10:00' }])).toEqual([]);
	});
	it('copies Monday to Tuesday–Friday and leaves the weekend', () => {
		const slots = copyMondayToWeekdays([
			{ weekday: 0, time: '09:00' },
			{ weekday: 0, time: '17:00' },
			{ weekday: 3, time: '12:00' },
			{ weekday: 5, time: '11:00' }
		]);
		expect(timesOf(slots, 1)).toEqual(['09:00', '17:00']);
		expect(timesOf(slots, 3)).toEqual(['09:00', '17:00']);
		expect(timesOf(slots, 4)).toEqual(['09:00', '17:00']);
		expect(timesOf(slots, 5)).toEqual(['11:00']);
		expect(timesOf(slots, 6)).toEqual([]);
		expect(sameSlots(slots, [...slots].reverse())).toBe(true);
		expect(sameSlots(slots, [])).toBe(false);
	});
});

describe('slot instants', () => {
	it('lists the next 14 local days, leaving out past slots', () => {
		// Saturday 2026-11-21 12:00 in Berlin
		const now = utc('2026-11-21T11:00:00Z');
		const slots = [
			{ weekday: 5, time: '09:00' },
			{ weekday: 5, time: '18:00' },
			{ weekday: 0, time: '10:00' }
		];
		const instants = slotInstants(slots, 'Europe/Berlin', now);
		expect(instants.map((s) => `${s.date} ${s.time}`)).toEqual([
			'2026-11-21 18:00',
			'2026-11-23 10:00',
			'2026-11-28 09:00',
			'2026-11-28 18:00',
			'2026-11-30 10:00'
		]);
		expect(new Date(instants[0]!.instant).toISOString()).toBe('2026-11-21T17:00:00.000Z');
	});
	it('uses the account zone for today and the weekday', () => {
		// 03:00 UTC Monday is still Sunday evening in New York.
		const now = utc('2026-11-23T03:00:00Z');
		const instants = slotInstants([{ weekday: 6, time: '23:00' }], 'America/New_York', now, 1);
		expect(instants).toHaveLength(1);
		expect(instants[0]!.date).toBe('2026-11-22');
		expect(new Date(instants[0]!.instant).toISOString()).toBe('2026-11-23T04:00:00.000Z');
	});
	it('follows DST: the same wall time, a different UTC time', () => {
		const now = utc('2026-10-20T00:00:00Z');
		const instants = slotInstants([{ weekday: 1, time: '09:00' }], 'Europe/Berlin', now, 14);
		expect(instants.map((s) => new Date(s.instant).toISOString())).toEqual([
			'2026-10-20T07:00:00.000Z',
			'2026-10-27T08:00:00.000Z'
		]);
	});
	it('moves a slot in a spring-forward gap forward and counts a merged instant once', () => {
		const now = utc('2026-03-28T00:00:00Z');
		const instants = slotInstants(
			[
				{ weekday: 6, time: '02:30' },
				{ weekday: 6, time: '03:30' }
			],
			'Europe/Berlin',
			now,
			2
		);
		expect(instants).toHaveLength(1);
		expect(new Date(instants[0]!.instant).toISOString()).toBe('2026-03-29T01:30:00.000Z');
		expect(wallHm(instants[0]!.instant, 'Europe/Berlin')).toBe('03:30');
	});
	it('fills slots with posts at exactly their instant (compared as instants)', () => {
		const now = utc('2026-11-21T11:00:00Z');
		const instants = slotInstants([{ weekday: 0, time: '10:00' }], 'Europe/Berlin', now);
		const entries = fillSlots(instants, [
			post('taken', '2026-11-23T09:00:00Z'),
			post('near', '2026-11-30T09:01:00Z'),
			post('offset', '2026-11-30T10:00:00+01:00'),
			makePost('cancelled', '2026-11-23T09:00:00Z', { status: 'cancelled' })
		]);
		expect(entries.map((e) => e.posts.map((p) => p.id))).toEqual([['taken'], ['offset']]);
	});
});
