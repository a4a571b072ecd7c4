"""Sends the delivery status notification (RFC 3464) a mail server writes
when it cannot deliver a message, the way Postfix words it, to TO by SMTP.
usage: send_dsn.py PORT TO ABOUT_MESSAGE_ID FAILED_RECIPIENT
"""
import smtplib
import sys

port, to, about, recipient = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
report = f"""From: MAILER-DAEMON@mx.pakeman.example (Mail Delivery System)
To: {to}
Subject: Undelivered Mail Returned to Sender
Message-ID: <dsn-1@mx.pakeman.example>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="dsn"

--dsn
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.pakeman.example.
I'm sorry to have to inform you that your message could not be delivered.

--dsn
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.pakeman.example
Arrival-Date: Fri,  4 Dec 2026 09:00:00 +0000

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: failed
Status: 5.1.1
Remote-MTA: dns; mail.pakeman.example
Diagnostic-Code: smtp; 550 5.1.1 <{recipient}>: Recipient address rejected: User unknown in virtual mailbox table

--dsn
Content-Type: text/rfc822-headers

From: Pakeman Primary School <office@pakeman.example>
To: {recipient}
Subject: Please sign Pakeman Primary School's Acceptable Use Policy
Message-ID: {about}

--dsn--
""".replace("\n", "\r\n").encode()
with smtplib.SMTP("127.0.0.1", port) as smtp:
    smtp.sendmail("", [to], report)
