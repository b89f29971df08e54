/** `/help`: plain-text curl recipes for this server's URL. */
import type { Page } from './page.js';

export const helpPage: Page = ({ origin, base, version }) => {
  const url = origin + base.replace(/\/$/, '');
  const body = `Help for burrow pipe ${version}
(a piping-server compatible, zero-storage streaming service)

======= Get  =======
curl ${url}/mypath

======= Send =======
# Send a file
curl -T myfile ${url}/mypath

# Send a text
echo 'hello!' | curl -T - ${url}/mypath

# Send a directory (zip)
zip -q -r - ./mydir | curl -T - ${url}/mypath

# Send a directory (tar.gz)
tar zfcp - ./mydir | curl -T - ${url}/mypath

# Encryption
## Send
cat myfile | openssl aes-256-cbc | curl -T - ${url}/mypath
## Get
curl ${url}/mypath | openssl aes-256-cbc -d

======= Fan-out to 3 receivers =======
curl -T myfile '${url}/mypath?n=3'
curl '${url}/mypath?n=3'   # on each of the 3 receivers

======= Watch a transfer =======
curl -N '${url}/mypath?progress'   # Server-Sent Events; open it in a browser for a dashboard

======= Live video =======
ffmpeg ... -f webm - | curl -T - ${url}/live
open '${url}/live?video' in a browser
`;
  return {
    headers: { 'Content-Type': 'text/plain', 'Access-Control-Allow-Origin': '*' },
    // eslint-disable-next-line no-control-regex
    body: body.replace(/[^\x00-\x7f]/g, '?'),
  };
};
