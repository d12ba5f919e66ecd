/**
 * Pure logic behind the calendar: which days a view shows, the API query for them,
 * the URL state, grouping posts by day and the "move to another day" computation.
 */
import type { components } from './api/schema';
import { NETWORKS } from './networks';
import {
	addDays,
	addMonths,
	daysBetween,
	formatLocalDateTime,
	isPlainDate,
	parseInstant,
	parsePlainDate,
	plainDateAt,
	startOfDayInstant,
	startOfMonth,
	startOfWeek,
	wallTimeAt,
	wallToInstant,
	isoWithOffset,
	type PlainDate
} from './calendar-time';

export type CalendarPost = components['schemas']['Post'];
export type PostStatus = components['schemas']['PostStatus'];
export type NetworkId = components['schemas']['Network'];

export const CALENDAR_VIEWS = ['month', 'week', 'list'] as const;
export type CalendarView = (typeof CALENDAR_VIEWS)[number];

/** The API answers at most this many days per calendar request. */
export const MAX_RANGE_DAYS = 62;

export const WEEKDAY_NAMES = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'] as const;
export const WEEKDAY_SHORT = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] as const;

// ---- statuses and networks ---------------------------------------------------------------

export const POST_STATUSES: readonly PostStatus[] = [
	'draft',
	'pending_approval',
	'approved',
	'scheduled',
	'publishing',
	'published',
	'partially_published',
	'failed',
	'cancelled'
];

const STATUS_LABELS: Record<PostStatus, string> = {
	draft: 'Draft',
	pending_approval: 'Pending approval',
	approved: 'Approved',
	scheduled: 'Scheduled',
	publishing: 'Publishing',
	published: 'Published',
	partially_published: 'Partially published',
	failed: 'Failed',
	cancelled: 'Cancelled'
};

export function statusLabel(status: PostStatus): string {
	return STATUS_LABELS[status] ?? status;
}

/** The colour family a status is drawn in (CSS class `status-<tone>`). */
export type StatusTone = 'neutral' | 'pending' | 'scheduled' | 'active' | 'success' | 'warning' | 'danger' | 'muted';

export function statusTone(status: PostStatus): StatusTone {
	switch (status) {
		case 'draft':
			return 'neutral';
		case 'pending_approval':
		case 'approved':
			return 'pending';
		case 'scheduled':
			return 'scheduled';
		case 'publishing':
			return 'active';
		case 'published':
			return 'success';
		case 'partially_published':
			return 'warning';
		case 'failed':
			return 'danger';
		case 'cancelled':
			return 'muted';
	}
}

/**
 * Post events on the live connection; any of them may change what a calendar shows.
 * (Publishing events are listed ahead of the backend sending them.)
 */
export const POST_EVENT_TYPES = [
	'post.created',
	'post.updated',
	'post.deleted',
	'post.submitted',
	'post.approved',
	'post.rejected',
	'post.scheduled',
	'post.unscheduled',
	'post.cancelled',
	'post.publishing',
	'post.published',
	'post.partially_published',
	'post.failed'
] as const;

/** The first few words of a post, for a chip. */
export function firstWords(text: string, maxChars = 48): string {
	const clean = text.replace(/\s+/g, ' ').trim();
	if (clean.length <= maxChars) return clean || '(no text)';
	const cut = clean.slice(0, maxChars);
	const space = cut.lastIndexOf(' ');
	return `${(space > maxChars / 2 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

// ---- grids and ranges --------------------------------------------------------------------

export interface MonthGrid {
	/** The first day of the month shown. */
	month: PlainDate;
	/** Monday-first weeks covering the whole month (4–6 rows). */
	weeks: PlainDate[][];
}

/** The Monday-first weeks of the month containing `date`. */
export function monthGrid(date: PlainDate): MonthGrid {
	const first = startOfMonth(date);
	const last = addDays(addMonths(first, 1), -1);
	const gridStart = startOfWeek(first);
	const gridEnd = addDays(startOfWeek(last), 7);
	const weeks: PlainDate[][] = [];
	for (let day = gridStart; day < gridEnd; day = addDays(day, 7)) {
		weeks.push(Array.from({ length: 7 }, (_, i) => addDays(day, i)));
	}
	return { month: first, weeks };
}

/** Monday … Sunday of the week containing `date`. */
export function weekDays(date: PlainDate): PlainDate[] {
	const monday = startOfWeek(date);
	return Array.from({ length: 7 }, (_, i) => addDays(monday, i));
}

/** `date` reduced to the start of what `view` shows (first of month, or Monday). */
export function anchorFor(view: CalendarView, date: PlainDate): PlainDate {
	return view === 'week' ? startOfWeek(date) : startOfMonth(date);
}

/** The anchor one page earlier (`step` -1) or later (+1). */
export function shiftAnchor(view: CalendarView, date: PlainDate, step: number): PlainDate {
	return view === 'week' ? addDays(startOfWeek(date), 7 * step) : addMonths(startOfMonth(date), step);
}

export interface VisibleRange {
	/** First day shown. */
	firstDay: PlainDate;
	/** The day after the last day shown. */
	endDay: PlainDate;
	/** Instants (ms) of `firstDay` 00:00 and `endDay` 00:00 in the zone. */
	start: number;
	end: number;
}

/** Days a view shows for `date`, and the instants they span in `zone`. */
export function visibleRange(view: CalendarView, date: PlainDate, zone: string): VisibleRange {
	let firstDay: PlainDate;
	let endDay: PlainDate;
	if (view === 'month') {
		const grid = monthGrid(date);
		firstDay = grid.weeks[0]![0]!;
		endDay = addDays(grid.weeks[grid.weeks.length - 1]![6]!, 1);
	} else if (view === 'week') {
		firstDay = startOfWeek(date);
		endDay = addDays(firstDay, 7);
	} else {
		firstDay = startOfMonth(date);
		endDay = addMonths(firstDay, 1);
	}
	return { firstDay, endDay, start: startOfDayInstant(firstDay, zone), end: startOfDayInstant(endDay, zone) };
}

/** Every day of a range, in order. */
export function daysOf(range: Pick<VisibleRange, 'firstDay' | 'endDay'>): PlainDate[] {
	const n = daysBetween(range.firstDay, range.endDay);
	return Array.from({ length: Math.max(0, n) }, (_, i) => addDays(range.firstDay, i));
}

export interface CalendarFilters {
	accounts: string[];
	networks: NetworkId[];
	statuses: PostStatus[];
	labels: string[];
}

export const NO_FILTERS: CalendarFilters = { accounts: [], networks: [], statuses: [], labels: [] };

export function filtersActive(filters: CalendarFilters): number {
	return filters.accounts.length + filters.networks.length + filters.statuses.length + filters.labels.length;
}

export interface CalendarQuery {
	start: string;
	end: string;
	account_id?: string[];
	network?: NetworkId[];
	status?: PostStatus[];
	label?: string[];
}

/**
 * The `GET /calendar` query for a range: ISO instants with the zone's offsets, and only the
 * filters that are set. Throws when the range is longer than the API allows.
 */
export function rangeQuery(range: VisibleRange, zone: string, filters: CalendarFilters = NO_FILTERS): CalendarQuery {
	if (daysBetween(range.firstDay, range.endDay) > MAX_RANGE_DAYS) {
		throw new RangeError(`A calendar request covers at most ${MAX_RANGE_DAYS} days.`);
	}
	const query: CalendarQuery = { start: isoWithOffset(range.start, zone), end: isoWithOffset(range.end, zone) };
	if (filters.accounts.length) query.account_id = [...filters.accounts];
	if (filters.networks.length) query.network = [...filters.networks];
	if (filters.statuses.length) query.status = [...filters.statuses];
	if (filters.labels.length) query.label = [...filters.labels];
	return query;
}

// ---- URL state ---------------------------------------------------------------------------

export interface CalendarUrlState {
	view: CalendarView;
	/** The anchor: first of the month (month, list) or the Monday (week). */
	date: PlainDate;
	filters: CalendarFilters;
}

function isView(value: string | null): value is CalendarView {
	return value !== null && (CALENDAR_VIEWS as readonly string[]).includes(value);
}

function unique<T>(values: T[]): T[] {
	return [...new Set(values)];
}

/** Read `?view=&date=&account=&network=&status=&label=`; anything unknown falls back. */
export function parseCalendarUrl(params: URLSearchParams, today: PlainDate): CalendarUrlState {
	const rawView = params.get('view');
	const view: CalendarView = isView(rawView) ? rawView : 'month';
	const rawDate = params.get('date');
	const date = anchorFor(view, isPlainDate(rawDate) ? rawDate : today);
	return {
		view,
		date,
		filters: {
			accounts: unique(params.getAll('account').filter(Boolean)),
			networks: unique(params.getAll('network').filter((n): n is NetworkId => (NETWORKS as readonly string[]).includes(n))),
			statuses: unique(params.getAll('status').filter((s): s is PostStatus => (POST_STATUSES as string[]).includes(s))),
			labels: unique(params.getAll('label').map((l) => l.trim()).filter(Boolean))
		}
	};
}

/** The query string (with `?`) for a calendar state. */
export function calendarSearch(state: CalendarUrlState): string {
	const params = new URLSearchParams();
	params.set('view', state.view);
	params.set('date', anchorFor(state.view, state.date));
	for (const a of state.filters.accounts) params.append('account', a);
	for (const n of state.filters.networks) params.append('network', n);
	for (const s of state.filters.statuses) params.append('status', s);
	for (const l of state.filters.labels) params.append('label', l);
	return `?${params.toString()}`;
}

// ---- posts in days -----------------------------------------------------------------------

/** Posts grouped by their day in `zone`, each day in time order. */
export function groupByDay(posts: readonly CalendarPost[], zone: string): Map<PlainDate, CalendarPost[]> {
	const days = new Map<PlainDate, CalendarPost[]>();
	const sorted = [...posts]
		.filter((p) => !Number.isNaN(parseInstant(p.scheduled_at)))
		.sort((a, b) => parseInstant(a.scheduled_at) - parseInstant(b.scheduled_at) || a.id.localeCompare(b.id));
	for (const post of sorted) {
		const day = plainDateAt(parseInstant(post.scheduled_at), zone);
		let list = days.get(day);
		if (!list) days.set(day, (list = []));
		list.push(post);
	}
	return days;
}

/** The local hour (0–23) of a post in `zone`, or null without a time. */
export function hourOf(post: CalendarPost, zone: string): number | null {
	const t = parseInstant(post.scheduled_at);
	return Number.isNaN(t) ? null : wallTimeAt(t, zone).hour;
}

export interface Move {
	/** Local wall time for `POST /schedule` with `timezone`. */
	at: string;
	/** The instant it will land on (the API's DST rule applied). */
	instant: number;
}

/**
 * Move a post scheduled at `scheduledAt` to `day`, keeping its local time of day in
 * `zone`; with `time`, take that hour (and minute, else keep the minutes). Null when
 * nothing would change or the post has no time.
 */
export function moveToDay(
	scheduledAt: string | null | undefined,
	day: PlainDate,
	zone: string,
	time?: { hour: number; minute?: number }
): Move | null {
	const current = parseInstant(scheduledAt);
	if (Number.isNaN(current) || !isPlainDate(day)) return null;
	const wall = wallTimeAt(current, zone);
	const { year, month, day: d } = parsePlainDate(day);
	const target = {
		...wall,
		year,
		month,
		day: d,
		hour: time?.hour ?? wall.hour,
		minute: time?.minute ?? wall.minute,
		second: time?.minute === undefined ? wall.second : 0
	};
	const instant = wallToInstant(target, zone);
	if (instant === current) return null;
	return { at: formatLocalDateTime(target), instant };
}

/** Can posts in this state be (re)scheduled by dragging? The API still has the last word. */
export function isReschedulable(status: PostStatus): boolean {
	return status === 'scheduled' || status === 'approved' || status === 'draft';
}
