import { requireRole } from './session.js'; import { chrome } from './chrome.js'; const user = requireRole('admin'); if (user) chrome(user);
