/**
 * Buffalo TeraStation (HS-DHTGL, firmware 1.15): the admin page has no Basic auth and no API.
 * Logging in through /cgi-bin/top.cgi answers a page whose hidden inputs carry the session
 * token gSSS (hex, one per session) and gRRR (decimal, new on every page); the shutdown post
 * must carry the gRRR of the page just served, so login and shutdown are two requests in a row.
 *
 * Written by hand as YAML, the same recipe reads:
 *
 *   shutdown:
 *     http:
 *       url: http://nas.lan/
 *       username: admin
 *       password_env: NAS_PASSWORD
 *       steps:
 *         - name: login
 *           method: POST
 *           url: /cgi-bin/top.cgi
 *           form: {txtAuthLoginUser: "${username}", txtAuthLoginPassword: "${password}", gPage: top, gMode: auth}
 *           fail_if: txtAuthLoginPassword
 *           extract: {gSSS: "input:gSSS", gRRR: "input:gRRR"}
 *           safe: true
 *         - name: shutdown
 *           method: POST
 *           url: /cgi-bin/top.cgi
 *           form: {gPage: maintenance, gMode: shutdown, gType: shutdown, gSSS: "${gSSS}", gRRR: "${gRRR}"}
 *           fail_if: txtAuthLoginPassword
 */
import type { Recipe } from '../http-recipe';

/** The login form's password field: a page that still has it did not let us in. */
const LOGIN_FORM = 'txtAuthLoginPassword';

export const terastation: Recipe = {
  name: 'terastation',
  steps: [
    {
      name: 'login',
      method: 'POST',
      url: '/cgi-bin/top.cgi',
      form: { txtAuthLoginUser: '${username}', txtAuthLoginPassword: '${password}', gPage: 'top', gMode: 'auth' },
      failIf: LOGIN_FORM,
      extract: { gSSS: 'input:gSSS', gRRR: 'input:gRRR' },
      safe: true,
    },
    {
      name: 'shutdown',
      method: 'POST',
      url: '/cgi-bin/top.cgi',
      form: { gPage: 'maintenance', gMode: 'shutdown', gType: 'shutdown', gSSS: '${gSSS}', gRRR: '${gRRR}' },
      // A stale or wrong token sends the browser back to the login page.
      failIf: LOGIN_FORM,
    },
  ],
};
