import { describe, expect, it } from 'vitest';
import { dropIndex, groupByColumn, keyboardMove, markdownToHtml, parseTags, type Note, type NoteColumn } from './notes';

const column = (id: string, position: number): NoteColumn => ({ id, name: id, stage: null, position, note_count: 0 });
const note = (id: string, column_id: string, position: number) => ({ id, column_id, position }) as Note;

describe('notes board', () => {
	const columns = [column('a', 0), column('b', 1)];
	const grouped = groupByColumn(columns, [note('2', 'a', 1), note('1', 'a', 0), note('3', 'b', 0)]);

	it('groups notes by column in position order', () => {
		expect(grouped.get('a')?.map((n) => n.id)).toEqual(['1', '2']);
		expect(grouped.get('b')?.map((n) => n.id)).toEqual(['3']);
	});

	it('moves with the keyboard within and between columns, not past the edges', () => {
		const first = grouped.get('a')![0]!;
		expect(keyboardMove(columns, grouped, first, 'down')).toEqual({ column_id: 'a', position: 1 });
		expect(keyboardMove(columns, grouped, first, 'up')).toBeNull();
		expect(keyboardMove(columns, grouped, first, 'right')).toEqual({ column_id: 'b', position: 1 });
		expect(keyboardMove(columns, grouped, first, 'left')).toBeNull();
	});

	it('drops before the first card whose middle is below the pointer', () => {
		expect(dropIndex([10, 30, 50], 5)).toBe(0);
		expect(dropIndex([10, 30, 50], 35)).toBe(2);
		expect(dropIndex([10, 30, 50], 99)).toBe(3);
	});

	it('parses comma-separated tags', () => {
		expect(parseTags(' a, b,,a , c ')).toEqual(['a', 'b', 'c']);
	});

	it('renders the Markdown subset safely', () => {
		const html = markdownToHtml('# Hi\n- [x] done\n- [ ] <b>todo</b>\n\n**bold** [x](javascript:alert(1)) [ok](https://e.com)');
		expect(html).toContain('<h3>Hi</h3>');
		expect(html).toContain('<input type="checkbox" disabled checked> done');
		expect(html).toContain('&lt;b&gt;todo&lt;/b&gt;');
		expect(html).toContain('<strong>bold</strong>');
		expect(html).not.toContain('href="javascript');
		expect(html).toContain('<a href="https://e.com"');
	});
});
