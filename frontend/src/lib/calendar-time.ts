/**
 * Dates and wall times in an IANA time zone, with nothing but `Intl`.
 *
 * A *plain date* is a `YYYY-MM-DD` string (a day on a wall calendar, no zone). An
 * *instant* is epoch milliseconds. Converting a wall time to an instant follows the
 * backend's one DST rule: a wall time inside a spring-forward gap moves forward by the
 * gap; one inside a fall-back fold means its first occurrence.
 */

export type PlainDate = string;

export interface WallTime {
	year: number;
	/** 1–12 */
	month: number;
	day: number;
	hour: number;
	minute: number;
	second: number;
}

const DAY_MS = 86_400_000;

const formatters = new Map<string, Intl.DateTimeFormat>();

function partsFormatter(zone: string): Intl.DateTimeFormat {
	let f = formatters.get(zone);
	if (!f) {
		f = new Intl.DateTimeFormat('en-US', {
			timeZone: zone,
			hourCycle: 'h23',
			year: 'numeric',
			month: '2-digit',
			day: '2-digit',
			hour: '2-digit',
			minute: '2-digit',
			second: '2-digit'
		});
		formatters.set(zone, f);
	}
	return f;
}

/** Is `zone` an IANA zone this browser knows? */
export function isValidTimeZone(zone: string): boolean {
	if (!zone) return false;
	try {
		partsFormatter(zone);
		return true;
	} catch {
		return false;
	}
}

/** The browser's zone (falls back to UTC). */
export function browserTimeZone(): string {
	try {
		return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
	} catch {
		return 'UTC';
	}
}

/** Every zone the browser knows, plus `extra` (e.g. an account's current zone) when missing. */
export function timeZoneOptions(...extra: string[]): string[] {
	let zones: string[] = [];
	try {
		zones = Intl.supportedValuesOf('timeZone');
	} catch {
		zones = [];
	}
	const all = new Set(zones);
	all.add('UTC');
	for (const zone of extra) if (zone) all.add(zone);
	return [...all].sort((a, b) => a.localeCompare(b));
}

/** The wall clock in `zone` at `instant`. */
export function wallTimeAt(instant: number, zone: string): WallTime {
	const parts = partsFormatter(zone).formatToParts(new Date(instant));
	const get = (type: Intl.DateTimeFormatPartTypes): number => Number(parts.find((p) => p.type === type)?.value ?? 0);
	const hour = get('hour');
	return {
		year: get('year'),
		month: get('month'),
		day: get('day'),
		hour: hour === 24 ? 0 : hour,
		minute: get('minute'),
		second: get('second')
	};
}

function wallAsUtc(w: WallTime): number {
	const d = new Date(0);
	d.setUTCFullYear(w.year, w.month - 1, w.day);
	d.setUTCHours(w.hour, w.minute, w.second, 0);
	return d.getTime();
}

/** UTC offset of `zone` at `instant`, in milliseconds (local = UTC + offset). */
export function offsetAt(instant: number, zone: string): number {
	const whole = Math.floor(instant / 1000) * 1000;
	return wallAsUtc(wallTimeAt(whole, zone)) - whole;
}

/** The instant of a wall time in `zone` (gap → forward by the gap; fold → first occurrence). */
export function wallToInstant(wall: WallTime, zone: string): number {
	const naive = wallAsUtc(wall);
	const before = offsetAt(naive - DAY_MS, zone);
	const after = offsetAt(naive + DAY_MS, zone);
	const valid = [...new Set([before, after])]
		.map((offset) => naive - offset)
		.filter((t) => wallAsUtc(wallTimeAt(t, zone)) === naive);
	if (valid.length > 0) return Math.min(...valid);
	// A gap: read the wall time with the offset in force before it (PEP 495 fold=0).
	return naive - before;
}

// ---- plain dates -------------------------------------------------------------------------

const PLAIN_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

function pad(n: number, width = 2): string {
	return String(Math.abs(n)).padStart(width, '0');
}

export function isPlainDate(value: string | null | undefined): value is PlainDate {
	if (!value) return false;
	const m = PLAIN_DATE.exec(value);
	if (!m) return false;
	const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
	return formatPlainDate(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()) === value;
}

export function formatPlainDate(year: number, month: number, day: number): PlainDate {
	return `${pad(year, 4)}-${pad(month)}-${pad(day)}`;
}

export function parsePlainDate(date: PlainDate): { year: number; month: number; day: number } {
	const m = PLAIN_DATE.exec(date);
	if (!m) throw new RangeError(`Not a date: ${date}`);
	return { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) };
}

function plainToUtc(date: PlainDate): number {
	const { year, month, day } = parsePlainDate(date);
	const d = new Date(0);
	d.setUTCFullYear(year, month - 1, day);
	return d.getTime();
}

function utcToPlain(ms: number): PlainDate {
	const d = new Date(ms);
	return formatPlainDate(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate());
}

export function addDays(date: PlainDate, days: number): PlainDate {
	return utcToPlain(plainToUtc(date) + days * DAY_MS);
}

/** Whole days from `a` to `b`. */
export function daysBetween(a: PlainDate, b: PlainDate): number {
	return Math.round((plainToUtc(b) - plainToUtc(a)) / DAY_MS);
}

/** 0 = Monday … 6 = Sunday (the API's numbering). */
export function weekdayOf(date: PlainDate): number {
	return (new Date(plainToUtc(date)).getUTCDay() + 6) % 7;
}

export function startOfWeek(date: PlainDate): PlainDate {
	return addDays(date, -weekdayOf(date));
}

export function startOfMonth(date: PlainDate): PlainDate {
	const { year, month } = parsePlainDate(date);
	return formatPlainDate(year, month, 1);
}

export function addMonths(date: PlainDate, months: number): PlainDate {
	const { year, month, day } = parsePlainDate(date);
	const index = year * 12 + (month - 1) + months;
	const y = Math.floor(index / 12);
	const m = (index % 12) + 1;
	const last = new Date(Date.UTC(y, m, 0)).getUTCDate();
	return formatPlainDate(y, m, Math.min(day, last));
}

/** The day in `zone` at `instant`. */
export function plainDateAt(instant: number, zone: string): PlainDate {
	const w = wallTimeAt(instant, zone);
	return formatPlainDate(w.year, w.month, w.day);
}

/** Midnight (or the first instant) of `date` in `zone`. */
export function startOfDayInstant(date: PlainDate, zone: string): number {
	const { year, month, day } = parsePlainDate(date);
	return wallToInstant({ year, month, day, hour: 0, minute: 0, second: 0 }, zone);
}

// ---- formatting --------------------------------------------------------------------------

/** `2026-12-01T00:00:00+01:00`: `instant` written as wall time in `zone` with its offset. */
export function isoWithOffset(instant: number, zone: string): string {
	const w = wallTimeAt(instant, zone);
	const offsetMinutes = Math.round(offsetAt(instant, zone) / 60_000);
	const sign = offsetMinutes < 0 ? '-' : '+';
	const abs = Math.abs(offsetMinutes);
	return (
		`${formatPlainDate(w.year, w.month, w.day)}T${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}` +
		`${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
	);
}

/** `YYYY-MM-DDTHH:MM:SS` with no zone: what `POST /schedule` takes as `at` with a `timezone`. */
export function formatLocalDateTime(w: WallTime): string {
	return `${formatPlainDate(w.year, w.month, w.day)}T${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}`;
}

/** `HH:MM` (24 h) of the wall clock. */
export function formatHm(w: Pick<WallTime, 'hour' | 'minute'>): string {
	return `${pad(w.hour)}:${pad(w.minute)}`;
}

/** Parse an API date-time string; NaN when it is not one. */
export function parseInstant(iso: string | null | undefined): number {
	if (!iso) return Number.NaN;
	return Date.parse(iso);
}
