"""Signs a PDF as LibreOffice's "Sign Existing PDF" does, headless: soffice is
started with the NSS database in MOZILLA_CERTIFICATE_FOLDER (where LibreOffice
looks for the signer's certificates, as Firefox's profile would be), and the
PDF is signed through the DocumentDigitalSignatures service with the
database's certificate. LibreOffice 7.4 signs into a new invisible field of its
own, "Signature1".

Runs under Debian's /usr/bin/python3, which has LibreOffice's `uno` module.

libreoffice_sign.py NSSDIR IN OUT"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

import uno

nssdir, source, out = sys.argv[1:4]
shutil.copyfile(source, out)
profile = tempfile.mkdtemp(prefix="lo-profile-")
pipe = "aup_lo_%d" % os.getpid()
env = dict(os.environ, MOZILLA_CERTIFICATE_FOLDER="sql:" + os.path.abspath(nssdir))
office = subprocess.Popen(
    [
        "soffice",
        "--headless",
        "--invisible",
        "--norestore",
        "-env:UserInstallation=file://" + profile,
        "--accept=pipe,name=%s;urp;" % pipe,
    ],
    env=env,
)
try:
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    for _ in range(120):
        try:
            ctx = resolver.resolve("uno:pipe,name=%s;urp;StarOffice.ComponentContext" % pipe)
            break
        except Exception:
            time.sleep(0.5)
    else:
        sys.exit("soffice did not start")
    smgr = ctx.ServiceManager
    init = smgr.createInstanceWithContext("com.sun.star.xml.crypto.SEInitializer", ctx)
    security = init.createSecurityContext("")
    environment = security.getSecurityEnvironment()
    certs = environment.getPersonalCertificates()
    if not certs:
        sys.exit("no personal certificate in " + nssdir)
    signatures = smgr.createInstanceWithArgumentsAndContext(
        "com.sun.star.security.DocumentDigitalSignatures", (), ctx
    )
    files = smgr.createInstanceWithContext("com.sun.star.ucb.SimpleFileAccess", ctx)
    stream = files.openFileReadWrite(uno.systemPathToFileUrl(os.path.abspath(out)))
    signed = signatures.signDocumentWithCertificate(certs[0], None, stream)
    stream.getOutputStream().closeOutput()
    if not signed:
        sys.exit("LibreOffice did not sign")
finally:
    office.terminate()
    office.wait(timeout=30)
    shutil.rmtree(profile, ignore_errors=True)
