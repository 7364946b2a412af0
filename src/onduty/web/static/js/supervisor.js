import { requireRole } from './session.js'; import { chrome } from './chrome.js'; const user = requireRole('supervisor'); if (user) chrome(user);
