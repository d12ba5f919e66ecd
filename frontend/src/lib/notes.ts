/**
 * The notes board without the DOM: types from the generated client, grouping notes into
 * columns, where a keyboard move goes, and a small safe Markdown preview.
 */
import type { components } from './api/schema';

export type Note = components['schemas']['Note'];
export type NoteColumn = components['schemas']['NoteColumn'];

/** Live events after which the board reloads (notes, columns, and the posts notes follow). */
export const NOTE_EVENT_TYPES = [
	'notes.note_changed',
	'notes.columns_changed',
	'post.scheduled',
	'post.published',
	'post.partially_published',
	'post.unscheduled',
	'post.failed'
] as const;

/** Each column's notes in board order. */
export function groupByColumn(columns: readonly NoteColumn[], notes: readonly Note[]): Map<string, Note[]> {
	const grouped = new Map<string, Note[]>(columns.map((c) => [c.id, []]));
	for (const note of notes) grouped.get(note.column_id)?.push(note);
	for (const list of grouped.values()) list.sort((a, b) => a.position - b.position || a.id.localeCompare(b.id));
	return grouped;
}

export type Direction = 'up' | 'down' | 'left' | 'right';

/** Where the move buttons send a note: {column_id, position}, or null at the board's edge. */
export function keyboardMove(
	columns: readonly NoteColumn[],
	grouped: Map<string, Note[]>,
	note: Note,
	direction: Direction
): { column_id: string; position: number } | null {
	const columnIndex = columns.findIndex((c) => c.id === note.column_id);
	const siblings = grouped.get(note.column_id) ?? [];
	const index = siblings.findIndex((n) => n.id === note.id);
	if (columnIndex < 0 || index < 0) return null;
	if (direction === 'up') return index > 0 ? { column_id: note.column_id, position: index - 1 } : null;
	if (direction === 'down')
		return index < siblings.length - 1 ? { column_id: note.column_id, position: index + 1 } : null;
	const next = columns[columnIndex + (direction === 'left' ? -1 : 1)];
	if (!next) return null;
	return { column_id: next.id, position: grouped.get(next.id)?.length ?? 0 };
}

/** Index to drop at, from where the pointer is over the target column's cards (their midlines). */
export function dropIndex(midlines: readonly number[], pointerY: number): number {
	const index = midlines.findIndex((y) => pointerY < y);
	return index < 0 ? midlines.length : index;
}

/** "a, b ,c" → ["a", "b", "c"] without empties or repeats. */
export function parseTags(text: string): string[] {
	return [...new Set(text.split(',').map((t) => t.trim()).filter(Boolean))];
}

function escapeHtml(text: string): string {
	return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function inline(text: string): string {
	return escapeHtml(text)
		.replace(/`([^`]+)`/g, '<code>$1</code>')
		.replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>')
		.replace(/(^|[^*])\*([^*]+)\*/g, '$1<em>$2</em>')
		.replace(/\[([^\]]+)\]\((https?:\/\/[^\s)]+)\)/g, '<a href="$2" rel="noopener noreferrer" target="_blank">$1</a>');
}

/**
 * The Markdown subset notes use (headings, lists, task items, bold, italic, code, links) as
 * HTML. Everything is escaped first, and only http(s) links become anchors, so it is safe to
 * render.
 */
export function markdownToHtml(markdown: string): string {
	const out: string[] = [];
	let inList = false;
	const closeList = () => {
		if (inList) out.push('</ul>');
		inList = false;
	};
	for (const line of markdown.split('\n')) {
		const heading = /^(#{1,3})\s+(.*)$/.exec(line);
		const task = /^\s*[-*+]\s+\[([ xX])\]\s*(.*)$/.exec(line);
		const bullet = /^\s*[-*+]\s+(.*)$/.exec(line);
		if (heading) {
			closeList();
			const level = (heading[1] ?? '#').length + 2;
			out.push(`<h${level}>${inline(heading[2] ?? '')}</h${level}>`);
		} else if (task || bullet) {
			if (!inList) out.push('<ul>');
			inList = true;
			if (task) {
				const checked = task[1] !== ' ';
				out.push(
					`<li class="task"><input type="checkbox" disabled${checked ? ' checked' : ''}> ${inline(task[2] ?? '')}</li>`
				);
			} else if (bullet) out.push(`<li>${inline(bullet[1] ?? '')}</li>`);
		} else if (line.trim() === '') {
			closeList();
		} else {
			closeList();
			out.push(`<p>${inline(line)}</p>`);
		}
	}
	closeList();
	return out.join('');
}
