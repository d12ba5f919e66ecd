import { describe, expect, it } from 'vitest';
import {
	browserTimeZone,
	defaultScheduleTime,
	formatInZone,
	isValidTimeZone,
	offsetLabel,
	splitDateTimeLocal,
	timeZoneList,
	toScheduleAt,
	wallTimeIn,
	zonedWallTimeToDate,
	zoneLabel,
	zoneOffsetMinutes
} from './timezones';

describe('time zone list and default', () => {
	it('uses the browser zone', () => {
		const zone = browserTimeZone();
		expect(isValidTimeZone(zone)).toBe(true);
	});

	it('sorts, removes duplicates and always has UTC and the included zones', () => {
		const list = timeZoneList(['Asia/Calcutta', null, 'Europe/Berlin'], ['Europe/Berlin', 'America/New_York', 'Europe/Berlin']);
		expect(list).toEqual(['America/New_York', 'Asia/Calcutta', 'Europe/Berlin', 'UTC']);
	});

	it('defaults to what Intl supports', () => {
		const list = timeZoneList();
		expect(list).toContain('UTC');
		expect(list).toContain('Europe/Berlin');
		expect(new Set(list).size).toBe(list.length);
	});

	it('rejects unknown zones', () => {
		expect(isValidTimeZone('Mars/Olympus')).toBe(false);
		expect(isValidTimeZone('')).toBe(false);
	});
});

describe('wall times', () => {
	it('reads an instant in a zone', () => {
		const at = new Date('2026-12-01T08:30:00Z');
		expect(wallTimeIn(at, 'Europe/Berlin')).toEqual({ date: '2026-12-01', time: '09:30' });
		expect(wallTimeIn(at, 'America/New_York')).toEqual({ date: '2026-12-01', time: '03:30' });
		expect(wallTimeIn(new Date('2026-12-01T23:30:00Z'), 'Asia/Tokyo')).toEqual({ date: '2026-12-02', time: '08:30' });
	});

	it('knows offsets', () => {
		expect(zoneOffsetMinutes(new Date('2026-01-15T12:00:00Z'), 'Europe/Berlin')).toBe(60);
		expect(zoneOffsetMinutes(new Date('2026-07-15T12:00:00Z'), 'Europe/Berlin')).toBe(120);
		expect(zoneOffsetMinutes(new Date('2026-07-15T12:00:00Z'), 'Asia/Kolkata')).toBe(330);
		expect(offsetLabel('Asia/Kolkata', new Date('2026-07-15T12:00:00Z'))).toBe('GMT+5:30');
		expect(offsetLabel('America/New_York', new Date('2026-01-15T12:00:00Z'))).toBe('GMT-5');
		expect(offsetLabel('UTC')).toBe('GMT');
		expect(zoneLabel('America/New_York', new Date('2026-07-15T12:00:00Z'))).toBe('America/New York (GMT-4)');
	});

	it('turns a wall time into an instant like the server does', () => {
		expect(zonedWallTimeToDate('2026-12-01', '09:30', 'Europe/Berlin')?.toISOString()).toBe('2026-12-01T08:30:00.000Z');
		// Spring forward in Berlin: 02:30 does not exist, it moves forward by the gap (03:30 CEST).
		expect(zonedWallTimeToDate('2026-03-29', '02:30', 'Europe/Berlin')?.toISOString()).toBe('2026-03-29T01:30:00.000Z');
		// Fall back: 02:30 happens twice, the first (CEST) one counts.
		expect(zonedWallTimeToDate('2026-10-25', '02:30', 'Europe/Berlin')?.toISOString()).toBe('2026-10-25T00:30:00.000Z');
		expect(zonedWallTimeToDate('2026-02-30', '10:00', 'UTC')).toBeNull();
		expect(zonedWallTimeToDate('2026-02-01', '25:00', 'UTC')).toBeNull();
	});
});

describe('schedule requests', () => {
	it('builds {at, timezone} from the picker', () => {
		expect(toScheduleAt('2026-12-01', '09:30', 'Europe/Berlin')).toEqual({ at: '2026-12-01T09:30', timezone: 'Europe/Berlin' });
		expect(toScheduleAt('2026-12-01', '09:30:00', 'UTC')).toEqual({ at: '2026-12-01T09:30', timezone: 'UTC' });
	});

	it('explains what is missing', () => {
		expect(toScheduleAt('', '09:30', 'UTC')).toEqual({ error: 'Pick a date.' });
		expect(toScheduleAt('2026-12-01', '', 'UTC')).toEqual({ error: 'Pick a time.' });
		expect(toScheduleAt('2026-12-01', '09:30', 'Nowhere/Land')).toEqual({ error: 'Pick a time zone.' });
		expect(toScheduleAt('2026-04-31', '09:30', 'UTC')).toEqual({ error: 'That date does not exist.' });
	});

	it('splits a datetime-local value', () => {
		expect(splitDateTimeLocal('2026-12-01T09:30')).toEqual({ date: '2026-12-01', time: '09:30' });
		expect(splitDateTimeLocal('2026-12-01T09:30:15.5')).toEqual({ date: '2026-12-01', time: '09:30' });
		expect(splitDateTimeLocal('tomorrow')).toBeNull();
	});

	it('suggests the next quarter hour an hour from now, in the zone', () => {
		const now = new Date('2026-12-01T08:07:00Z');
		expect(defaultScheduleTime(now, 'UTC')).toEqual({ date: '2026-12-01', time: '09:15' });
		expect(defaultScheduleTime(now, 'Europe/Berlin')).toEqual({ date: '2026-12-01', time: '10:15' });
		expect(defaultScheduleTime(new Date('2026-12-31T23:00:00Z'), 'UTC', 60)).toEqual({ date: '2027-01-01', time: '00:00' });
	});

	it('formats an instant in a zone', () => {
		const text = formatInZone('2026-12-01T08:30:00Z', 'Europe/Berlin', 'en-GB');
		expect(text).toContain('09:30');
		expect(text).toContain('2026');
		expect(formatInZone(null, 'UTC')).toBe('—');
		expect(formatInZone('garbage', 'UTC')).toBe('—');
	});
});
