import { api, call } from './api/client';
import { errorMessage } from './api/errors';
import { groupByColumn, type Note, type NoteColumn } from './notes';

/** The board of one workspace: its columns and every note (search narrows the notes). */
export class NotesBoard {
	columns = $state<NoteColumn[]>([]);
	notes = $state<Note[]>([]);
	status = $state<'idle' | 'loading' | 'ready' | 'error'>('idle');
	error = $state<string | null>(null);
	query = $state('');
	grouped: Map<string, Note[]> = $derived(groupByColumn(this.columns, this.notes));

	constructor(private readonly workspaceId: () => string | null) {}

	/** Load the columns and all notes (following cursors); keeps showing the old board meanwhile. */
	async reload(): Promise<void> {
		const ws = this.workspaceId();
		if (!ws) return;
		if (this.status !== 'ready') this.status = 'loading';
		try {
			const columns = await call(api.GET('/api/v1/workspaces/{workspace_id}/notes/columns', { params: { path: { workspace_id: ws } } }));
			const notes: Note[] = [];
			let cursor: string | null = null;
			do {
				const q = this.query.trim();
				const page: { items: Note[]; next_cursor?: string | null } = await call(
					api.GET('/api/v1/workspaces/{workspace_id}/notes', {
						params: { path: { workspace_id: ws }, query: { limit: 200, ...(q ? { q } : {}), ...(cursor ? { cursor } : {}) } }
					})
				);
				notes.push(...page.items);
				cursor = page.next_cursor ?? null;
			} while (cursor);
			this.columns = columns;
			this.notes = notes;
			this.status = 'ready';
			this.error = null;
		} catch (err) {
			this.error = errorMessage(err);
			this.status = 'error';
		}
	}

	/** Move a note (drag and drop or the move buttons): shown at once, then saved. */
	async move(note: Note, columnId: string, position: number): Promise<void> {
		const ws = this.workspaceId();
		if (!ws) return;
		const siblings = (this.grouped.get(columnId) ?? []).filter((n) => n.id !== note.id);
		siblings.splice(Math.min(position, siblings.length), 0, { ...note, column_id: columnId });
		const placed = new Map(siblings.map((n, i) => [n.id, i]));
		this.notes = this.notes.map((n) =>
			placed.has(n.id) ? { ...n, column_id: columnId, position: placed.get(n.id)! } : n
		);
		try {
			await call(
				api.POST('/api/v1/workspaces/{workspace_id}/notes/{note_id}/move', {
					params: { path: { workspace_id: ws, note_id: note.id } },
					body: { column_id: columnId, position }
				})
			);
		} finally {
			await this.reload();
		}
	}
}
