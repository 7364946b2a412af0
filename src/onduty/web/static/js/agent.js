import { requireRole } from './session.js'; import { chrome } from './chrome.js'; const user = requireRole('agent'); if (user) chrome(user);
