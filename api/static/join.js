// The invitation page: the newcomer's form and the key panel.

import { setupNewcomer } from "./onboarding.js";
import { setupKeyPanel } from "./session.js";

setupKeyPanel();
setupNewcomer();
