/** The message helpers the action nodes share. */
import { HOST_ACTIONS } from '../../../src/core/state';
import { isOneOf, requestedAction } from '../../../nodes/src/lib/msg';

describe('message helpers', () => {
  it('isOneOf accepts only a member of the list', () => {
    expect(isOneOf(HOST_ACTIONS, 'wake')).toBe(true);
    expect(isOneOf(HOST_ACTIONS, 'Wake')).toBe(false);
    expect(isOneOf(HOST_ACTIONS, '')).toBe(false);
  });

  it('takes msg.action first, then a string payload, then the setting', () => {
    expect(requestedAction({ action: 'save', payload: 'off' }, 'start')).toBe('save');
    expect(requestedAction({ payload: ' off ' }, 'start')).toBe('off');
    expect(requestedAction({ payload: 1 }, 'start')).toBe('start');
    expect(requestedAction({ payload: '' }, undefined)).toBe('');
  });
});
