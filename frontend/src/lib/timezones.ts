/**
 * Time zones for the schedule picker and for showing scheduled times. Wall times are sent
 * to the API as `{at: "YYYY-MM-DDTHH:MM", timezone}`; the server applies the DST rules.
 */

const FALLBACK_ZONES = ['UTC'];

/** The browser's IANA zone (e.g. "Europe/Berlin"), or "UTC" when it cannot tell. */
export function browserTimeZone(): string {
	try {
		return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
	} catch {
		return 'UTC';
	}
}

/** Is `zone` a zone this browser knows? */
export function isValidTimeZone(zone: string): boolean {
	if (!zone) return false;
	try {
		new Intl.DateTimeFormat('en-US', { timeZone: zone });
		return true;
	} catch {
		return false;
	}
}

function supportedZones(): string[] {
	const intl = Intl as typeof Intl & { supportedValuesOf?: (key: string) => string[] };
	try {
		return intl.supportedValuesOf?.('timeZone') ?? FALLBACK_ZONES;
	} catch {
		return FALLBACK_ZONES;
	}
}

/**
 * Every zone to offer, sorted, without duplicates, always with "UTC" and the `include`d
 * zones (the browser's own, the post's saved one) even when the engine's list lacks them.
 */
export function timeZoneList(include: readonly (string | null | undefined)[] = [], supported: readonly string[] = supportedZones()): string[] {
	const set = new Set<string>(supported);
	set.add('UTC');
	for (const zone of include) if (zone) set.add(zone);
	return [...set].sort((a, b) => a.localeCompare(b));
}

export interface WallTime {
	/** YYYY-MM-DD */
	date: string;
	/** HH:MM (24 h) */
	time: string;
}

function pad(n: number): string {
	return String(n).padStart(2, '0');
}

/** The wall-clock date and time of instant `at` in `timeZone`. */
export function wallTimeIn(at: Date, timeZone: string): WallTime {
	const parts = new Intl.DateTimeFormat('en-US', {
		timeZone,
		hourCycle: 'h23',
		year: 'numeric',
		month: '2-digit',
		day: '2-digit',
		hour: '2-digit',
		minute: '2-digit'
	}).formatToParts(at);
	const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '00';
	return { date: `${get('year')}-${get('month')}-${get('day')}`, time: `${get('hour')}:${get('minute')}` };
}

/** Offset of `timeZone` from UTC at instant `at`, in minutes (Berlin in winter: 60). */
export function zoneOffsetMinutes(at: Date, timeZone: string): number {
	const parts = new Intl.DateTimeFormat('en-US', {
		timeZone,
		hourCycle: 'h23',
		year: 'numeric',
		month: 'numeric',
		day: 'numeric',
		hour: 'numeric',
		minute: 'numeric',
		second: 'numeric'
	}).formatToParts(at);
	const n = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
	const asUtc = Date.UTC(n('year'), n('month') - 1, n('day'), n('hour'), n('minute'), n('second'));
	return Math.round((asUtc - Math.floor(at.getTime() / 1000) * 1000) / 60_000);
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIME_RE = /^(\d{2}):(\d{2})(?::(\d{2}))?$/;

/**
 * The instant a wall time in `timeZone` stands for (a time skipped by DST moves forward by
 * the gap, an ambiguous one means its first occurrence — as the server does). Null when
 * the date or time is not valid.
 */
export function zonedWallTimeToDate(date: string, time: string, timeZone: string): Date | null {
	const d = DATE_RE.exec(date);
	const t = TIME_RE.exec(time);
	if (!d || !t || !isValidTimeZone(timeZone)) return null;
	const [y, mo, da] = [Number(d[1]), Number(d[2]), Number(d[3])];
	const [h, mi] = [Number(t[1]), Number(t[2])];
	if (mo < 1 || mo > 12 || da < 1 || da > 31 || h > 23 || mi > 59) return null;
	const naive = Date.UTC(y, mo - 1, da, h, mi);
	const check = new Date(naive);
	if (check.getUTCDate() !== da || check.getUTCMonth() !== mo - 1) return null; // e.g. 31 April
	// Offsets just before and after the wall time; the earlier offset gives the first occurrence.
	const before = zoneOffsetMinutes(new Date(naive - 36 * 3_600_000), timeZone);
	const after = zoneOffsetMinutes(new Date(naive + 36 * 3_600_000), timeZone);
	const candidates = [...new Set([before, after])].map((offset) => naive - offset * 60_000);
	const valid = candidates.filter((instant) => {
		const wall = wallTimeIn(new Date(instant), timeZone);
		return wall.date === date && wall.time === `${t[1]}:${t[2]}`;
	});
	if (valid.length > 0) return new Date(Math.min(...valid));
	// Skipped by a DST change: move forward by the gap (use the offset from before it).
	return new Date(naive - before * 60_000);
}

export interface ScheduleAt {
	at: string;
	timezone: string;
}

/**
 * The API's `{at, timezone}` for a date and time picked in `timezone`, or an error message
 * for the picker.
 */
export function toScheduleAt(date: string, time: string, timezone: string): ScheduleAt | { error: string } {
	if (!DATE_RE.test(date)) return { error: 'Pick a date.' };
	if (!TIME_RE.test(time)) return { error: 'Pick a time.' };
	if (!isValidTimeZone(timezone)) return { error: 'Pick a time zone.' };
	if (!zonedWallTimeToDate(date, time, timezone)) return { error: 'That date does not exist.' };
	return { at: `${date}T${time.slice(0, 5)}`, timezone };
}

/** Split an `<input type="datetime-local">` value ("2026-12-01T09:30") into date and time. */
export function splitDateTimeLocal(value: string): WallTime | null {
	const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(?::\d{2}(?:\.\d+)?)?$/.exec(value);
	return m ? { date: m[1]!, time: m[2]! } : null;
}

/**
 * A sensible first suggestion: the next quarter hour at least `leadMinutes` from now, as
 * a wall time in `timeZone`.
 */
export function defaultScheduleTime(now: Date, timeZone: string, leadMinutes = 60): WallTime {
	const quarter = 15 * 60_000;
	const at = Math.ceil((now.getTime() + leadMinutes * 60_000) / quarter) * quarter;
	return wallTimeIn(new Date(at), timeZone);
}

/** "GMT+1", "GMT-3:30", "GMT" for `timeZone` at `at`. */
export function offsetLabel(timeZone: string, at: Date = new Date()): string {
	const minutes = zoneOffsetMinutes(at, timeZone);
	if (minutes === 0) return 'GMT';
	const sign = minutes > 0 ? '+' : '-';
	const abs = Math.abs(minutes);
	const h = Math.floor(abs / 60);
	const m = abs % 60;
	return `GMT${sign}${h}${m ? `:${pad(m)}` : ''}`;
}

/** "Europe/Berlin" → "Europe/Berlin (GMT+1)"; underscores read as spaces. */
export function zoneLabel(timeZone: string, at: Date = new Date()): string {
	const name = timeZone.replace(/_/g, ' ');
	try {
		return `${name} (${offsetLabel(timeZone, at)})`;
	} catch {
		return name;
	}
}

/** A date and time as seen in `timeZone`, e.g. "Tue, 1 Dec 2026, 09:30". */
export function formatInZone(iso: string | Date | null | undefined, timeZone: string, locale?: string): string {
	if (!iso) return '—';
	const d = iso instanceof Date ? iso : new Date(iso);
	if (Number.isNaN(d.getTime())) return '—';
	try {
		return new Intl.DateTimeFormat(locale, {
			timeZone,
			weekday: 'short',
			year: 'numeric',
			month: 'short',
			day: 'numeric',
			hour: '2-digit',
			minute: '2-digit'
		}).format(d);
	} catch {
		return d.toISOString();
	}
}
