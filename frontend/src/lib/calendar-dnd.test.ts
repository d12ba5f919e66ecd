import { describe, expect, it } from 'vitest';
import { dropKey, parseDropTarget } from './calendar-dnd';

describe('drop targets', () => {
	it('reads days and hours from data attributes', () => {
		expect(parseDropTarget('2026-12-03', undefined)).toEqual({ day: '2026-12-03' });
		expect(parseDropTarget('2026-12-03', '14')).toEqual({ day: '2026-12-03', hour: 14 });
		expect(parseDropTarget('2026-12-03', '24')).toEqual({ day: '2026-12-03' });
		expect(parseDropTarget('2026-02-30', '1')).toBeNull();
		expect(parseDropTarget(undefined, '1')).toBeNull();
	});
	it('keys targets for highlighting', () => {
		expect(dropKey({ day: '2026-12-03' })).toBe('2026-12-03');
		expect(dropKey({ day: '2026-12-03', hour: 0 })).toBe('2026-12-03@0');
		expect(dropKey(null)).toBeNull();
	});
});
