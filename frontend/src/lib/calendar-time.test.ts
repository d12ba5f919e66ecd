import { describe, expect, it } from 'vitest';
import {
	addDays,
	addMonths,
	daysBetween,
	isPlainDate,
	isoWithOffset,
	offsetAt,
	plainDateAt,
	startOfDayInstant,
	startOfWeek,
	wallTimeAt,
	wallToInstant,
	weekdayOf
} from './calendar-time';

const utc = (iso: string) => Date.parse(iso);
const wall = (y: number, mo: number, d: number, h = 0, mi = 0, s = 0) => ({
	year: y,
	month: mo,
	day: d,
	hour: h,
	minute: mi,
	second: s
});

describe('plain dates', () => {
	it('adds days across month and year ends and leap days', () => {
		expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
		expect(addDays('2028-02-28', 1)).toBe('2028-02-29');
		expect(addDays('2026-03-01', -1)).toBe('2026-02-28');
		expect(daysBetween('2026-11-30', '2027-01-11')).toBe(42);
	});
	it('numbers weekdays Monday = 0 like the API', () => {
		expect(weekdayOf('2026-11-30')).toBe(0); // a Monday
		expect(weekdayOf('2026-12-06')).toBe(6); // a Sunday
		expect(startOfWeek('2026-12-06')).toBe('2026-11-30');
		expect(startOfWeek('2026-11-30')).toBe('2026-11-30');
	});
	it('adds months clamping the day', () => {
		expect(addMonths('2026-01-31', 1)).toBe('2026-02-28');
		expect(addMonths('2026-12-15', 1)).toBe('2027-01-15');
		expect(addMonths('2026-01-15', -1)).toBe('2025-12-15');
	});
	it('validates dates', () => {
		expect(isPlainDate('2026-02-29')).toBe(false);
		expect(isPlainDate('2028-02-29')).toBe(true);
		expect(isPlainDate('2026-1-1')).toBe(false);
		expect(isPlainDate(null)).toBe(false);
	});
});

describe('zones', () => {
	it('reads wall time and offsets', () => {
		expect(wallTimeAt(utc('2026-12-03T09:00:00Z'), 'Europe/Berlin')).toEqual(wall(2026, 12, 3, 10));
		expect(offsetAt(utc('2026-07-01T00:00:00Z'), 'Europe/Berlin')).toBe(2 * 3600_000);
		expect(offsetAt(utc('2026-07-01T00:00:00Z'), 'America/New_York')).toBe(-4 * 3600_000);
		expect(offsetAt(utc('2026-07-01T00:00:00Z'), 'Asia/Kolkata')).toBe(5.5 * 3600_000);
	});
	it('converts ordinary wall times', () => {
		expect(wallToInstant(wall(2026, 12, 3, 10), 'Europe/Berlin')).toBe(utc('2026-12-03T09:00:00Z'));
		expect(wallToInstant(wall(2026, 7, 3, 10), 'Europe/Berlin')).toBe(utc('2026-07-03T08:00:00Z'));
		expect(wallToInstant(wall(2026, 1, 1, 0), 'UTC')).toBe(utc('2026-01-01T00:00:00Z'));
	});
	it('moves a wall time in a spring-forward gap forward by the gap', () => {
		// 2026-03-29 02:30 does not exist in Berlin; it is 03:30 CEST = 01:30 UTC.
		expect(wallToInstant(wall(2026, 3, 29, 2, 30), 'Europe/Berlin')).toBe(utc('2026-03-29T01:30:00Z'));
		// 2026-03-08 02:15 does not exist in New York; it is 03:15 EDT = 07:15 UTC.
		expect(wallToInstant(wall(2026, 3, 8, 2, 15), 'America/New_York')).toBe(utc('2026-03-08T07:15:00Z'));
	});
	it('takes the first occurrence of an ambiguous wall time', () => {
		// 2026-10-25 02:30 happens twice in Berlin; the first is CEST = 00:30 UTC.
		expect(wallToInstant(wall(2026, 10, 25, 2, 30), 'Europe/Berlin')).toBe(utc('2026-10-25T00:30:00Z'));
		expect(wallToInstant(wall(2026, 11, 1, 1, 30), 'America/New_York')).toBe(utc('2026-11-01T05:30:00Z'));
	});
	it('finds day starts and days of instants', () => {
		expect(startOfDayInstant('2026-03-29', 'Europe/Berlin')).toBe(utc('2026-03-28T23:00:00Z'));
		expect(startOfDayInstant('2026-03-30', 'Europe/Berlin')).toBe(utc('2026-03-29T22:00:00Z'));
		expect(plainDateAt(utc('2026-12-01T23:30:00Z'), 'Europe/Berlin')).toBe('2026-12-02');
		expect(plainDateAt(utc('2026-12-01T03:30:00Z'), 'America/Los_Angeles')).toBe('2026-11-30');
	});
	it('writes instants with the zone offset', () => {
		expect(isoWithOffset(utc('2026-11-29T23:00:00Z'), 'Europe/Berlin')).toBe('2026-11-30T00:00:00+01:00');
		expect(isoWithOffset(utc('2026-07-01T04:00:00Z'), 'America/New_York')).toBe('2026-07-01T00:00:00-04:00');
		expect(isoWithOffset(utc('2026-07-01T00:00:00Z'), 'Asia/Kolkata')).toBe('2026-07-01T05:30:00+05:30');
		expect(isoWithOffset(utc('2026-07-01T00:00:00Z'), 'UTC')).toBe('2026-07-01T00:00:00+00:00');
	});
});
