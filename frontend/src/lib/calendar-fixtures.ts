/** A `Post` for unit tests (every required field, overridable). Not used by the app. */
import type { CalendarPost } from './calendar';

export function makePost(id: string, scheduled_at: string | null, overrides: Partial<CalendarPost> = {}): CalendarPost {
	return {
		id,
		status: 'scheduled',
		text: id,
		link: null,
		media_ids: [],
		targets: [],
		labels: [],
		campaign: null,
		scheduled_at,
		schedule_timezone: null,
		recurrence_rule: null,
		evergreen_every_days: null,
		author_id: null,
		created_at: '2026-11-01T00:00:00Z',
		updated_at: '2026-11-01T00:00:00Z',
		...overrides
	};
}
