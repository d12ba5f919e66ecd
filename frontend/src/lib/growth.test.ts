import { describe, expect, it } from 'vitest';
import { formatGoalValue, goalTarget, movesProgress, progressPercent } from './growth';

describe('growth formatting', () => {
	it('shows rates in percent and paces per week', () => {
		expect(formatGoalValue('engagement_rate', 0.075)).toBe('7.5%');
		expect(formatGoalValue('posts_per_week', 2.25)).toBe('2.3/week');
		expect(formatGoalValue('followers', 1200)).toBe('1,200');
		expect(formatGoalValue('followers', null)).toBe('—');
	});

	it('clamps progress and converts percent targets', () => {
		expect(progressPercent(1.7)).toBe(100);
		expect(progressPercent(0.234)).toBe(23);
		expect(goalTarget('engagement_rate', 5)).toBe(0.05);
		expect(goalTarget('followers', 500)).toBe(500);
	});

	it('refreshes on published, cancelled or failed deliveries and on new numbers', () => {
		expect(movesProgress('delivery.updated', { state: 'published' })).toBe(true);
		expect(movesProgress('delivery.updated', { state: 'claimed' })).toBe(false);
		expect(movesProgress('metrics.updated', {})).toBe(true);
		expect(movesProgress('post.updated', {})).toBe(false);
	});
});
